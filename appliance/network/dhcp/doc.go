// Package dhcp is cloudlet's DHCPv4 server for one network's bridge: it hands every known guest
// the address reserved for its MAC in the catalog, with the network's options (router, DNS, domain,
// hostname, MTU, classless static routes, lease time), and nothing to anyone else.
//
// It keeps no lease state: reservations come from a Lookup on every message, so a restarted daemon
// gives a renewing guest the same address. It answers on its bridge only (the socket is bound to the
// device), drops server-type messages sent by guests (a rogue DHCP server's OFFER/ACK/NAK) and rate-
// limits each MAC. Stopping a rogue server's replies from reaching other guests is the firewall's job,
// not this package's: those go to port 68, which this server never sees.
//
// It imports nothing from cloudlet except appliance/fault.
package dhcp
