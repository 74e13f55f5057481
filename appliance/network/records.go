package network

import (
	"net/netip"

	"cloudlet/store"
)

// Network kinds.
const (
	KindNAT      = "nat"      // routed to the host's uplink with MASQUERADE
	KindIsolated = "isolated" // no way out
	KindBridged  = "bridged"  // instances sit on an existing host bridge (the LAN)
	KindExternal = "external" // the uplink's LAN (or a routed range): floating IPs come from its pools
)

// Network is a layer-2 segment with one IPv4 subnet.
type Network struct {
	store.Meta
	Kind     string `json:"kind"`
	External bool   `json:"external"`         // kind external (Neutron's router:external): floating IPs come from it
	Shared   bool   `json:"shared"`           // external and visible to every project, to take floating IPs from (set by an admin)
	Uplink   string `json:"uplink,omitempty"` // NAT: the host interface traffic leaves by ("" = the default route's); external: the interface its subnet is on
	Bridge   string `json:"bridge,omitempty"` // bridged: the existing host bridge
	MTU      int    `json:"mtu"`
	Subnet   Subnet `json:"subnet"`
}

// Subnet is the network's IPv4 addressing.
type Subnet struct {
	// Name is the subnet's own name, as Neutron shows it (optional).
	Name       string       `json:"name,omitempty"`
	CIDR       netip.Prefix `json:"cidr"`
	Gateway    netip.Addr   `json:"gateway"`
	DHCP       bool         `json:"dhcp"`
	Pools      []Pool       `json:"allocation_pools"`
	DNS        []netip.Addr `json:"dns_nameservers,omitempty"`
	HostRoutes []HostRoute  `json:"host_routes,omitempty"`
	// Auto says cloudlet picked this range because the network was made without a subnet (as
	// Neutron makes a network first and its subnet after): the first subnet given replaces it.
	Auto bool `json:"auto,omitempty"`
}

// Pool is an inclusive range of addresses IPAM hands out.
type Pool struct {
	Start netip.Addr `json:"start"`
	End   netip.Addr `json:"end"`
}

// HostRoute is a static route given to instances by DHCP.
type HostRoute struct {
	Destination netip.Prefix `json:"destination"`
	NextHop     netip.Addr   `json:"nexthop"`
}

// OwnerInstance is the DeviceOwner of a port an instance uses (Neutron's "compute:<zone>").
const OwnerInstance = "compute:instance"

// Port is an instance's (or a floating IP's) attachment to a network.
type Port struct {
	store.Meta
	NetworkID      string       `json:"network_id"`
	MAC            string       `json:"mac_address"`
	FixedIPs       []netip.Addr `json:"fixed_ips"`
	SecurityGroups []string     `json:"security_groups"`
	PortSecurity   bool         `json:"port_security_enabled"`
	DeviceOwner    string       `json:"device_owner,omitempty"` // OwnerInstance, or "" for a free port
	DeviceID       string       `json:"device_id,omitempty"`
	// DeviceName is the device's name when it was bound (an instance's), for messages.
	DeviceName string `json:"device_name,omitempty"`
}

var (
	networks = store.NewKind[Network](store.BucketNetworks, store.ScopeProject)
	ports    = store.NewKind[Port](store.BucketPorts, store.ScopeProject)
)
