package network

import (
	"net/netip"
	"slices"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/network/dhcp"
	"cloudlet/appliance/network/firewall"
)

// A metadata request is attributed to the port holding its source address on the network it came
// from: the same address on another network, or an address no port holds, belongs to no one.
func TestPortAtIsTheNetworksHolderOfTheAddress(t *testing.T) {
	s := newService(t)
	a := must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "a", Subnet: subnet("10.61.0.0/24")}))
	b := must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "b", Kind: KindIsolated, Subnet: subnet("10.62.0.0/24")}))
	p := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "web", Network: "a", Instance: "inst-1", InstanceName: "web"}))
	got, err := s.PortAt(ctx, a.ID, p.FixedIPs[0])
	if err != nil || got.ID != p.ID || got.DeviceID != "inst-1" {
		t.Fatalf("PortAt(a, %s) = %+v, %v; want port web of inst-1", p.FixedIPs[0], got, err)
	}
	for _, c := range []struct {
		net  string
		addr netip.Addr
	}{{b.ID, p.FixedIPs[0]}, {a.ID, p.FixedIPs[0].Next()}, {"no-such-network", p.FixedIPs[0]}} {
		if got, err := s.PortAt(ctx, c.net, c.addr); fault.KindOf(err) != fault.NotFound {
			t.Errorf("PortAt(%s, %s) = %+v, %v; want not found", c.net, c.addr, got, err)
		}
	}
}

// With a metadata port, DHCP routes 169.254.169.254/32 through the gateway (with the default route,
// which option 121 would otherwise replace) and the firewall DNATs it to the gateway's listener, on
// the daemon's own networks only; without one, neither.
func TestMetadataRouteAndRuleFollowTheMetadataPort(t *testing.T) {
	s := newService(t)
	n := must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "a", Subnet: subnet("10.61.0.0/24")}))
	s.dp = &datapath{o: DatapathOptions{Domain: "cloudlet"}} // dhcpConfig's, not a running datapath
	bridged := &Network{Kind: KindBridged, Subnet: n.Subnet}
	gw := n.Subnet.Gateway
	route := dhcp.Route{Dest: netip.MustParsePrefix("169.254.169.254/32"), Via: gw}

	s.metadataPort = 0
	if cfg := s.dhcpConfig(n, "clbr-x"); slices.Contains(cfg.Routes, route) {
		t.Errorf("without a metadata port DHCP routes %v", cfg.Routes)
	}
	m := firewall.Model{Networks: []firewall.Network{firewallNetwork(n)}}
	if s.withMetadata(&m); m.Networks[0].Metadata.IsValid() {
		t.Errorf("without a metadata port the firewall DNATs to %v", m.Networks[0].Metadata)
	}

	s.metadataPort = 8775
	if cfg := s.dhcpConfig(n, "clbr-x"); !slices.Contains(cfg.Routes, route) {
		t.Errorf("DHCP routes %v, want %v", cfg.Routes, route)
	}
	if cfg := s.dhcpConfig(bridged, "clbr-x"); slices.Contains(cfg.Routes, route) {
		t.Errorf("a bridged network's DHCP routes %v: its gateway is the LAN's, not the daemon's", cfg.Routes)
	}
	m = firewall.Model{Networks: []firewall.Network{firewallNetwork(n), {ID: "lan", Bridge: "br0", Subnet: n.Subnet.CIDR, Shared: true}}}
	s.withMetadata(&m)
	if got, want := m.Networks[0].Metadata, netip.AddrPortFrom(gw, 8775); got != want {
		t.Errorf("metadata listener in the firewall model: %v, want %v", got, want)
	}
	if m.Networks[1].Metadata.IsValid() {
		t.Errorf("a shared bridge got a metadata DNAT to %v", m.Networks[1].Metadata)
	}
}
