package firewall

import (
	"net"
	"net/netip"
)

// Model is what the firewall needs to know, filled by the network service from the catalog.
// Slices may come in any order: Build sorts everything it emits.
type Model struct {
	Networks       []Network
	Ports          []Port
	SecurityGroups []SecurityGroup
	FloatingIPs    []FloatingIP
	PortForwards   []PortForward
}

// Network is one bridge with one IPv4 subnet.
type Network struct {
	ID      string
	Bridge  string
	Subnet  netip.Prefix
	Gateway netip.Addr // the host's address on the bridge; invalid = none
	NAT     bool       // MASQUERADE the subnet when it leaves through Uplink
	Uplink  string     // interface towards the outside; "" = none (with NAT: any interface but the bridge)
	// Shared: the bridge is the host's own (a LAN bridge that a bridged network joins). cloudlet then
	// filters its own ports' traffic only and leaves the rest of the bridge alone: no isolation, no NAT.
	Shared bool
	// Metadata is where the daemon serves this network's metadata service (its gateway address and
	// the metadata port): guests' connections to 169.254.169.254:80 from the bridge go there. Invalid
	// = no metadata service.
	Metadata netip.AddrPort
}

// Port is one guest NIC: a tap on a network's bridge.
type Port struct {
	ID             string
	Network        string // Network.ID
	Tap            string
	MAC            net.HardwareAddr
	IPs            []netip.Addr
	PortSecurity   bool     // anti-spoofing and security groups; false = neither
	SecurityGroups []string // SecurityGroup.ID
}

// SecurityGroup is a set of allow rules; a port in several groups gets the union.
type SecurityGroup struct {
	ID    string
	Rules []Rule
}

// Directions and protocols of a Rule.
const (
	Ingress = "ingress"
	Egress  = "egress"

	TCP  = "tcp"
	UDP  = "udp"
	ICMP = "icmp"
	Any  = "any"
)

// Rule allows traffic in one direction. PortMin and PortMax (tcp/udp only; both 0 = every port)
// bound the destination port. The remote end is RemoteCIDR or the members of RemoteGroup, or
// anything when neither is set.
type Rule struct {
	Direction        string
	Protocol         string
	PortMin, PortMax int
	RemoteCIDR       netip.Prefix
	RemoteGroup      string
}

// FloatingIP maps IP one to one onto a port's FixedIP: DNAT for traffic to IP, SNAT for traffic
// from FixedIP leaving through Interface.
type FloatingIP struct {
	IP, FixedIP netip.Addr
	Interface   string // where the floating IP arrives and its traffic leaves
}

// PortForward publishes one host port on a port's fixed IP.
type PortForward struct {
	Protocol string // tcp or udp
	HostPort int
	HostIP   netip.Addr // invalid = every local address of the host
	FixedIP  netip.Addr
	Port     int
}
