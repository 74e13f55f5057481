package network

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/network/link"
)

// publicRequest is the external network the tests publish on, as an admin makes it: the uplink's
// LAN, the router at .2, floating IPs .10-.12, shared with every project.
func publicRequest() CreateNetworkRequest {
	return CreateNetworkRequest{Name: "public", External: true, Shared: true, AnyCIDR: true, Uplink: "uplink0", Subnet: Subnet{
		CIDR: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("203.0.113.2"),
		Pools: []Pool{{netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("203.0.113.12")}}}}
}

// newPublishingService has the external network "public" (which the host routes: it is the uplink's
// LAN), the NAT network "lan" and two ports on it, "web" (10.1.2.2) and "db" (10.1.2.3).
func newPublishingService(t *testing.T) (*Service, *fakeFirewall) {
	t.Helper()
	s, fw := newFirewalledService(t)
	s.hostRoutes = func() ([]netip.Prefix, error) { return []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, nil }
	must1(s.CreateNetwork(ctx, proj, publicRequest()))
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lan", Subnet: subnet("10.1.2.0/24")}))
	must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "web", Network: "lan"}))
	must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "db", Network: "lan"}))
	return s, fw
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func wantFault(t *testing.T, what string, err error, kind fault.Kind, words ...string) {
	t.Helper()
	if err == nil || fault.KindOf(err) != kind {
		t.Errorf("%s: %v (kind %q), want a %s error", what, err, fault.KindOf(err), kind)
		return
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not name %q", what, err, w)
		}
	}
}

// An external network is kind external with External set, on an uplink, without DHCP; it may lie on
// a LAN the host routes (that is the point) but not over another network; it has no ports and no
// bridge in the firewall.
func TestExternalNetworks(t *testing.T) {
	s, fw := newPublishingService(t)
	pub := must1(s.Network(ctx, proj, "public"))
	if pub.Kind != KindExternal || !pub.External || pub.Subnet.DHCP || pub.Uplink != "uplink0" {
		t.Errorf("external network %+v: want kind external, external, uplink0, no DHCP", pub)
	}
	if lan := must1(s.Network(ctx, proj, "lan")); lan.External {
		t.Errorf("nat network lan has external set")
	}
	if rules := fw.last(t); strings.Contains(rules, link.BridgeName(pub.ID)) {
		t.Errorf("the firewall treats the external network as a bridge:\n%s", rules)
	}
	ext := func(name, kind, uplink, cidr string) CreateNetworkRequest {
		return CreateNetworkRequest{Name: name, Kind: kind, External: true, Uplink: uplink, Subnet: subnet(cidr), AnyCIDR: true}
	}
	_, err := s.CreateNetwork(ctx, proj, ext("x", KindNAT, "uplink0", "198.51.100.0/24"))
	wantFault(t, "external: true with kind nat", err, fault.Invalid, "external", "nat")
	_, err = s.CreateNetwork(ctx, proj, ext("x", "", "", "198.51.100.0/24"))
	wantFault(t, "external without uplink", err, fault.Invalid, "uplink")
	_, err = s.CreateNetwork(ctx, proj, ext("x", "", "uplink/0", "198.51.100.0/24"))
	wantFault(t, "external with a bad uplink name", err, fault.Invalid, "uplink/0")
	_, err = s.CreateNetwork(ctx, proj, ext("x", "", "eth1", "203.0.113.128/25"))
	wantFault(t, "external over another network", err, fault.Conflict, "public")
	_, err = s.CreatePort(ctx, proj, CreatePortRequest{Name: "p", Network: "public"})
	wantFault(t, "port on the external network", err, fault.Conflict, "public", "external")
}

// Floating IPs come from the external network's pools, lowest first, never twice; a requested one
// must be free and inside the pools; deleting one frees its address; a network holding floating
// IPs is not deleted.
func TestFloatingIPsComeFromThePoolsOnce(t *testing.T) {
	s, _ := newPublishingService(t)
	a := must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public"}))
	if a.IP != addr("203.0.113.10") || a.Status != FloatingDown || a.PortID != "" {
		t.Errorf("first floating IP %+v: want 203.0.113.10, DOWN, no port", a)
	}
	must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public", IP: addr("203.0.113.12")}))
	if b := must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public"})); b.IP != addr("203.0.113.11") {
		t.Errorf("third floating IP %s, want 203.0.113.11 (the .12 is taken)", b.IP)
	}
	for _, c := range []struct {
		name  string
		ip    string
		kind  fault.Kind
		words []string
	}{
		{"taken", "203.0.113.12", fault.Conflict, []string{"203.0.113.12", "already taken by floating IP"}},
		{"the router", "203.0.113.2", fault.Conflict, []string{"gateway"}},
		{"outside the pools", "203.0.113.1", fault.Invalid, []string{"203.0.113.1", "outside the allocation pools"}},
		{"outside the subnet", "198.51.100.7", fault.Invalid, []string{"not a host address"}},
		{"exhausted", "", fault.Conflict, []string{"no free address"}},
	} {
		r := CreateFloatingIPRequest{Network: "public"}
		if c.ip != "" {
			r.IP = addr(c.ip)
		}
		_, err := s.CreateFloatingIP(ctx, proj, r)
		wantFault(t, c.name, err, c.kind, c.words...)
	}
	wantFault(t, "delete the network", s.DeleteNetwork(ctx, proj, "public"), fault.Conflict, "floating IP", "delete its floating IPs first")
	must0(t, s.DeleteFloatingIP(ctx, proj, "203.0.113.10"))
	if again := must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public"})); again.IP != a.IP {
		t.Errorf("after deleting %s the next floating IP is %s, want it back", a.IP, again.IP)
	}
}

// Associating maps the floating IP onto the port (DNAT in, SNAT out by the uplink); disassociating
// and deleting the port take the rules away; the port's deletion keeps the floating IP, DOWN.
func TestFloatingIPAssociationDrivesTheRules(t *testing.T) {
	s, fw := newPublishingService(t)
	f := must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public", Port: "web"}))
	web := must1(s.Port(ctx, proj, "web"))
	if f.PortID != web.ID || f.FixedIP != web.FixedIPs[0] || f.Status != FloatingActive {
		t.Fatalf("floating IP %+v: want associated with web (%s), ACTIVE", f, web.FixedIPs[0])
	}
	dnat := "-A CLOUDLET-PREROUTING -d 203.0.113.10/32 -j DNAT --to-destination " + web.FixedIPs[0].String()
	snat := "-s " + web.FixedIPs[0].String() + "/32 -o uplink0 -j SNAT --to-source 203.0.113.10"
	if got := fw.last(t); !strings.Contains(got, dnat) || !strings.Contains(got, snat) {
		t.Errorf("associated floating IP: rules lack %q or %q:\n%s", dnat, snat, got)
	}
	none := ""
	f = must1(s.UpdateFloatingIP(ctx, proj, f.IP.String(), UpdateFloatingIPRequest{Port: &none}))
	if f.PortID != "" || f.FixedIP.IsValid() || f.Status != FloatingDown {
		t.Errorf("after disassociating: %+v, want no port, DOWN", f)
	}
	if got := fw.last(t); strings.Contains(got, "203.0.113.10") {
		t.Errorf("disassociated floating IP still in the rules:\n%s", got)
	}
	port := "web"
	must1(s.UpdateFloatingIP(ctx, proj, f.ID, UpdateFloatingIPRequest{Port: &port}))
	if got := fw.last(t); !strings.Contains(got, dnat) {
		t.Errorf("re-associated floating IP: rules lack %q:\n%s", dnat, got)
	}
	must0(t, s.DeletePort(ctx, proj, "web"))
	f = must1(s.FloatingIP(ctx, proj, f.ID))
	if f.PortID != "" || f.Status != FloatingDown {
		t.Errorf("after its port was deleted the floating IP is %+v, want kept, disassociated, DOWN", f)
	}
	if got := fw.last(t); strings.Contains(got, "203.0.113.10") {
		t.Errorf("the deleted port's floating IP is still in the rules:\n%s", got)
	}
}

// Every way an association can go wrong is refused with the right kind, naming both sides.
func TestFloatingIPConflicts(t *testing.T) {
	s, _ := newPublishingService(t)
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lan2", Kind: KindBridged, Bridge: "br0", Subnet: subnet("10.1.9.0/24")}))
	must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "onlan2", Network: "lan2"}))
	a := must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public", Port: "web"}))
	b := must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public"}))
	set := func(ref, port string) error {
		_, err := s.UpdateFloatingIP(ctx, proj, ref, UpdateFloatingIPRequest{Port: &port})
		return err
	}
	wantFault(t, "port already has one", set(b.ID, "web"), fault.Conflict, "web", a.IP.String(), "already has floating IP")
	wantFault(t, "floating IP already associated", set(a.ID, "db"), fault.Conflict, a.IP.String(), "web", "disassociate it first")
	wantFault(t, "port on a bridged network", set(b.ID, "onlan2"), fault.Conflict, "onlan2", "bridged", "lan2")
	wantFault(t, "unknown port", set(b.ID, "nope"), fault.NotFound, "nope")
	wantFault(t, "unknown floating IP", set("203.0.113.99", "db"), fault.NotFound, "203.0.113.99")
	_, err := s.UpdateFloatingIP(ctx, proj, b.ID, UpdateFloatingIPRequest{})
	wantFault(t, "no port given", err, fault.Invalid, "port")
	_, err = s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "lan"})
	wantFault(t, "floating IP on a NAT network", err, fault.Invalid, "network lan is not external")
	_, err = s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "nope"})
	wantFault(t, "unknown network", err, fault.NotFound, "nope")
	_, err = s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public", Port: "web"})
	wantFault(t, "create on a port that has one", err, fault.Conflict, "web", "already has floating IP")
	if all := must1(s.FloatingIPs(ctx, proj)); len(all) != 2 {
		t.Errorf("%d floating IPs after the refusals, want 2", len(all))
	}
	if err := set(a.ID, "web"); err != nil {
		t.Errorf("associating a floating IP again with its own port: %v, want no change", err)
	}
}

// A shared external network serves every project: another project takes floating IPs from it, for
// its own ports only.
func TestExternalNetworksAreShared(t *testing.T) {
	s, _ := newPublishingService(t)
	must1(s.CreateNetwork(ctx, "p2", CreateNetworkRequest{Name: "mine", Subnet: subnet("10.2.0.0/24")}))
	must1(s.CreatePort(ctx, "p2", CreatePortRequest{Name: "app", Network: "mine"}))
	f := must1(s.CreateFloatingIP(ctx, "p2", CreateFloatingIPRequest{Network: "public", Port: "app"}))
	if f.ProjectID != "p2" || f.Status != FloatingActive {
		t.Errorf("p2's floating IP %+v: want p2's, ACTIVE", f)
	}
	_, err := s.CreateFloatingIP(ctx, "p2", CreateFloatingIPRequest{Network: "public", Port: "web"})
	wantFault(t, "another project's port", err, fault.NotFound, "web")
	if _, err := s.FloatingIP(ctx, proj, f.IP.String()); fault.KindOf(err) != fault.NotFound {
		t.Errorf("p1 sees p2's floating IP: %v", err)
	}
}

// A change whose rules cannot be applied is undone: no new floating IP, no association.
func TestFloatingIPRulesThatCannotBeAppliedUndoTheChange(t *testing.T) {
	s, fw := newPublishingService(t)
	f := must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public"}))
	fw.fail = errors.New("iptables: resource busy")
	port := "web"
	if _, err := s.UpdateFloatingIP(ctx, proj, f.ID, UpdateFloatingIPRequest{Port: &port}); err == nil ||
		!strings.Contains(err.Error(), "apply firewall rules") {
		t.Errorf("associate with a failing firewall: %v, want an error naming the firewall", err)
	}
	if got := must1(s.FloatingIP(ctx, proj, f.ID)); got.PortID != "" || got.Status != FloatingDown {
		t.Errorf("after a failed association: %+v, want it disassociated", got)
	}
	if _, err := s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public", Port: "web"}); err == nil {
		t.Errorf("create with a failing firewall succeeded")
	}
	if all := must1(s.FloatingIPs(ctx, proj)); len(all) != 1 {
		t.Errorf("%d floating IPs after a failed create, want 1", len(all))
	}
}
