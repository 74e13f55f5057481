package firewall

import (
	"net"
	"net/netip"
)

// Fixtures shared by the golden, apply and validate tests.

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

var natNetwork = Network{ID: "net-1", Bridge: "clbr-1", Subnet: netip.MustParsePrefix("10.88.0.0/24"),
	Gateway: netip.MustParseAddr("10.88.0.1"), NAT: true, Uplink: "eth-up"}

// defaultGroup is what the network service creates: all egress, ingress from the same group.
var defaultGroup = SecurityGroup{ID: "default", Rules: []Rule{
	{Direction: Egress, Protocol: Any},
	{Direction: Ingress, Protocol: Any, RemoteGroup: "default"},
}}

func portA() Port {
	return Port{ID: "port-a", Network: "net-1", Tap: "clt-a", MAC: mac("52:54:00:aa:00:0a"),
		IPs: addrs("10.88.0.10"), PortSecurity: true, SecurityGroups: []string{"default"}}
}

func portB() Port {
	return Port{ID: "port-b", Network: "net-1", Tap: "clt-b", MAC: mac("52:54:00:aa:00:0b"),
		IPs: addrs("10.88.0.11"), PortSecurity: true, SecurityGroups: []string{"default"}}
}

// natDefault is one NAT network with two ports in the default group.
func natDefault() Model {
	return Model{Networks: []Network{natNetwork}, Ports: []Port{portA(), portB()},
		SecurityGroups: []SecurityGroup{defaultGroup}}
}

// goldenModels are rendered into testdata/<name>.rules.
func goldenModels() map[string]Model {
	insecure := Model{Networks: []Network{natNetwork}, Ports: []Port{{ID: "port-open", Network: "net-1",
		Tap: "clt-open", MAC: mac("52:54:00:aa:00:0c"), IPs: addrs("10.88.0.12"), PortSecurity: false,
		SecurityGroups: []string{"default"}}}, SecurityGroups: []SecurityGroup{defaultGroup}}

	groups := natDefault()
	web := portA()
	web.SecurityGroups = []string{"web"}
	groups.Ports[0] = web
	groups.SecurityGroups = append(groups.SecurityGroups, SecurityGroup{ID: "web", Rules: []Rule{
		{Direction: Ingress, Protocol: TCP, PortMin: 22, PortMax: 22, RemoteCIDR: netip.MustParsePrefix("192.0.2.0/24")},
		{Direction: Ingress, Protocol: ICMP, RemoteGroup: "default"},
		{Direction: Egress, Protocol: UDP, PortMin: 1000, PortMax: 2000},
	}})

	floating := natDefault()
	floating.FloatingIPs = []FloatingIP{{IP: netip.MustParseAddr("203.0.113.5"),
		FixedIP: netip.MustParseAddr("10.88.0.10"), Interface: "eth-up"}}

	forwards := natDefault()
	forwards.PortForwards = []PortForward{
		{Protocol: UDP, HostPort: 5353, HostIP: netip.MustParseAddr("203.0.113.1"), FixedIP: netip.MustParseAddr("10.88.0.11"), Port: 53},
		{Protocol: TCP, HostPort: 8080, FixedIP: netip.MustParseAddr("10.88.0.10"), Port: 80},
	}
	lan := natDefault()
	lan.Networks = []Network{{ID: "net-1", Bridge: "lanbr0", Subnet: netip.MustParsePrefix("10.88.0.0/24"), Shared: true}}
	metadata := natDefault()
	metadata.Networks[0].Metadata = netip.AddrPortFrom(metadata.Networks[0].Gateway, 8775)
	return map[string]Model{
		"metadata":          metadata,
		"shared-bridge":     lan,
		"empty":             {},
		"nat-default":       natDefault(),
		"port-security-off": insecure,
		"security-groups":   groups,
		"floating-ip":       floating,
		"port-forwards":     forwards,
	}
}
