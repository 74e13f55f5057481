package firewall

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"testing"
)

var benchPorts = flag.Int("bench-ports", 500, "ports in the one network of BenchmarkPortChange")

// bigNetwork holds up to 64,000 ports.
var bigNetwork = Network{ID: "net-big", Bridge: "clbr-big", Subnet: netip.MustParsePrefix("10.90.0.0/16"),
	Gateway: netip.MustParseAddr("10.90.0.1"), NAT: true, Uplink: "eth-up"}

// openGroup admits the whole subnet by CIDR: no remote group, the baseline.
var openGroup = SecurityGroup{ID: "open", Rules: []Rule{
	{Direction: Egress, Protocol: Any},
	{Direction: Ingress, Protocol: Any, RemoteCIDR: bigNetwork.Subnet},
}}

// bigPort is the i-th port of bigNetwork, in group.
func bigPort(i int, group string) Port {
	return Port{ID: fmt.Sprintf("port-%05d", i), Network: bigNetwork.ID, Tap: fmt.Sprintf("clt-%05d", i),
		MAC:          mac(fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff)),
		IPs:          []netip.Addr{netip.AddrFrom4([4]byte{10, 90, byte(1 + i/250), byte(2 + i%250)})},
		PortSecurity: true, SecurityGroups: []string{group}}
}

// bigModel is n ports of bigNetwork, all in group (defaultGroup or openGroup).
func bigModel(n int, group SecurityGroup) Model {
	m := Model{Networks: []Network{bigNetwork}, SecurityGroups: []SecurityGroup{group}}
	for i := range n {
		m.Ports = append(m.Ports, bigPort(i, group.ID))
	}
	return m
}

// BenchmarkPortChange: with -bench-ports ports in one group, the time to build and apply the rules
// after one port comes or goes (an instance boots or is deleted), the rules already in place.
// "remote-group" is the default group (ingress from its own members); "cidr", the baseline, admits
// the subnet by CIDR, so no rule depends on the group's members.
func BenchmarkPortChange(b *testing.B) {
	for _, tc := range []struct {
		name  string
		group SecurityGroup
	}{{"remote-group", defaultGroup}, {"cidr", openGroup}} {
		b.Run(fmt.Sprintf("%s/ports=%d", tc.name, *benchPorts), func(b *testing.B) {
			a, err := NewApplier()
			if err != nil {
				b.Fatal(err)
			}
			defer a.Remove(context.Background())
			m := bigModel(*benchPorts, tc.group)
			with := m
			with.Ports = append(m.Ports[:len(m.Ports):len(m.Ports)], bigPort(*benchPorts, tc.group.ID))
			benchApply(b, a, m)
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					benchApply(b, a, with)
				} else {
					benchApply(b, a, m)
				}
				i++
			}
		})
	}
}

func benchApply(b *testing.B, a *Applier, m Model) {
	rs, err := Build(m)
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Apply(context.Background(), rs); err != nil {
		b.Fatal(err)
	}
}
