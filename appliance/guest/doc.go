// Package guest is what a guest learns about itself: the NoCloud seed and the config drive attached to
// it, and the metadata service at 169.254.169.254 that answers OpenStack and EC2 paths. It is a service
// like compute or network: it imports store at most, never another service; compute calls it through
// an interface compute declares, and what it needs from compute and network (the instance at an
// address, marking an instance ready) comes through interfaces declared here, wired in appliance.
//
// Everything a guest sends is untrusted: the caller of the metadata service is identified only by the
// network its request arrived on and its source address (anti-spoofing makes that trustworthy), never
// by anything in the request.
package guest
