// Package network owns the tenant network model (Neutron's): networks with their one IPv4 subnet,
// ports with MACs and fixed IPs, and address management (IPAM). Its subpackages hold the datapath
// pieces the service composes: dhcp (the DHCP server), dns (names of instances), firewall (iptables
// chains owned by cloudlet) and link (bridges and taps through netlink).
//
// network imports store and appliance/fault; never compute, web or echo. Compute reaches it through an
// interface it declares, wired in appliance.
package network
