// Package appliance is cloudlet's composition root: New(cfg) opens the catalog, gathers host facts,
// builds the services and the web server and binds the listeners; Run(ctx) serves until ctx ends;
// Close waits for every goroutine it started and releases the catalog.
//
// Services live in sub-packages and never import each other except through small interfaces declared
// by the user and wired here. Stopping the daemon never stops virtual machines.
package appliance
