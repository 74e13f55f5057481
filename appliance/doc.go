// Package appliance is cloudlet's composition root: New(cfg) opens the catalog, gathers host facts,
// builds the services and the web server and binds the listeners; Run(ctx) serves until ctx ends;
// Close waits for every goroutine it started and releases the catalog.
//
// Services live in sub-packages and never import each other (deps_test.go): a service uses another
// through small interfaces it declares, wired here, and only downwards — web → compute →
// {volume, network, images}, volume → images, identity (quotas, keys) below them all; nothing calls
// back up (wiring_test.go reads this package's wiring to keep it so). Where a running QEMU takes
// part in a volume's change, the web layer drives the steps; DHCP leases reach compute by a
// subscription to the network service; whether an image is in use is the catalog's to say (a
// volume's record holds its image, and the image service's delete reads the holds in its own
// transaction: store's holds). Stopping the daemon never stops virtual machines.
package appliance
