package network

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

const proj = "p1"

var ctx = context.Background()

func newService(t *testing.T, host ...string) *Service {
	t.Helper()
	db := testkit.Catalog(t, "", store.Options{})
	var routes []netip.Prefix
	for _, h := range host {
		routes = append(routes, netip.MustParsePrefix(h))
	}
	s, err := New(Options{DB: db, HostRoutes: func() ([]netip.Prefix, error) { return routes, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func subnet(cidr string) Subnet { return Subnet{CIDR: netip.MustParsePrefix(cidr), DHCP: true} }

func TestCreateNetworkFillsTheSubnetDefaults(t *testing.T) {
	s := newService(t)
	n, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "web", Subnet: subnet("10.1.2.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	want := []Pool{{netip.MustParseAddr("10.1.2.2"), netip.MustParseAddr("10.1.2.254")}}
	if n.Kind != KindNAT || n.MTU != 1500 || n.Subnet.Gateway != netip.MustParseAddr("10.1.2.1") ||
		fmt.Sprint(n.Subnet.Pools) != fmt.Sprint(want) {
		t.Errorf("network %+v: want nat, mtu 1500, gateway .1, pool .2-.254", n)
	}
}

func TestBadNetworksAreRefusedNamingTheProblem(t *testing.T) {
	s := newService(t, "192.168.1.0/24")
	if _, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "taken", Subnet: subnet("10.5.0.0/24")}); err != nil {
		t.Fatal(err)
	}
	gw := func(cidr, g string) Subnet { sn := subnet(cidr); sn.Gateway = netip.MustParseAddr(g); return sn }
	pool := func(cidr, a, b string) Subnet {
		sn := subnet(cidr)
		sn.Pools = []Pool{{netip.MustParseAddr(a), netip.MustParseAddr(b)}}
		return sn
	}
	for _, c := range []struct {
		name string
		r    CreateNetworkRequest
		kind fault.Kind
		want string
	}{
		{"host bits", CreateNetworkRequest{Name: "a", Subnet: subnet("10.6.0.1/24")}, fault.Invalid, "host bits"},
		{"too small", CreateNetworkRequest{Name: "a", Subnet: subnet("10.6.0.0/31")}, fault.Invalid, "/30"},
		{"too big", CreateNetworkRequest{Name: "a", Subnet: subnet("10.0.0.0/8")}, fault.Invalid, "/16"},
		{"ipv6", CreateNetworkRequest{Name: "a", Subnet: subnet("fd00::/64")}, fault.Invalid, "IPv4"},
		{"gateway outside", CreateNetworkRequest{Name: "a", Subnet: gw("10.6.0.0/24", "10.7.0.1")}, fault.Invalid, "gateway"},
		{"gateway is broadcast", CreateNetworkRequest{Name: "a", Subnet: gw("10.6.0.0/24", "10.6.0.255")}, fault.Invalid, "gateway"},
		{"pool outside", CreateNetworkRequest{Name: "a", Subnet: pool("10.6.0.0/24", "10.6.0.10", "10.6.1.5")}, fault.Invalid, "not inside"},
		{"pool with gateway", CreateNetworkRequest{Name: "a", Subnet: pool("10.6.0.0/24", "10.6.0.1", "10.6.0.9")}, fault.Invalid, "gateway"},
		{"pool backwards", CreateNetworkRequest{Name: "a", Subnet: pool("10.6.0.0/24", "10.6.0.9", "10.6.0.3")}, fault.Invalid, "ends before"},
		{"overlaps a network", CreateNetworkRequest{Name: "a", Subnet: subnet("10.5.0.0/16")}, fault.Conflict, "network taken"},
		{"overlaps the host", CreateNetworkRequest{Name: "a", Subnet: subnet("192.168.0.0/16")}, fault.Conflict, "host already routes"},
		{"bad kind", CreateNetworkRequest{Name: "a", Kind: "vxlan", Subnet: subnet("10.6.0.0/24")}, fault.Invalid, "kind"},
		{"bridged without bridge", CreateNetworkRequest{Name: "a", Kind: KindBridged, Subnet: subnet("10.6.0.0/24")}, fault.Invalid, "host bridge"},
		{"absurd mtu", CreateNetworkRequest{Name: "a", MTU: 100000, Subnet: subnet("10.6.0.0/24")}, fault.Invalid, "mtu"},
		{"hostile name", CreateNetworkRequest{Name: "../x", Subnet: subnet("10.6.0.0/24")}, fault.Invalid, "name"},
		{"duplicate name", CreateNetworkRequest{Name: "taken", Subnet: subnet("10.6.0.0/24")}, fault.Conflict, "taken"},
	} {
		_, err := s.CreateNetwork(ctx, proj, c.r)
		if fault.KindOf(err) != c.kind || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (kind %q), want %s naming %q", c.name, err, fault.KindOf(err), c.kind, c.want)
		}
	}
	if all, _ := s.Networks(ctx, ""); len(all) != 1 {
		t.Errorf("%d networks after bad requests, want 1", len(all))
	}
}

func TestPortsGetFreeAddressesAndReservedOnesAreChecked(t *testing.T) {
	s := newService(t)
	sn := subnet("10.9.0.0/29") // hosts .1-.6, gateway .1: five addresses
	if _, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "tiny", Subnet: sn}); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreatePort(ctx, proj, CreatePortRequest{Network: "tiny"})
	if err != nil || a.FixedIPs[0] != netip.MustParseAddr("10.9.0.2") || !strings.HasPrefix(a.MAC, "fa:16:3e:") || !a.PortSecurity {
		t.Fatalf("first port %+v (%v): want 10.9.0.2, an fa:16:3e MAC, port security on", a, err)
	}
	want := netip.MustParseAddr("10.9.0.6")
	b, err := s.CreatePort(ctx, proj, CreatePortRequest{Network: "tiny", FixedIP: want, MAC: "52:54:00:AA:BB:CC"})
	if err != nil || b.FixedIPs[0] != want || b.MAC != "52:54:00:aa:bb:cc" {
		t.Fatalf("reserved port %+v (%v)", b, err)
	}
	for _, c := range []struct {
		name string
		r    CreatePortRequest
		kind fault.Kind
		want string
	}{
		{"taken IP", CreatePortRequest{Network: "tiny", FixedIP: want}, fault.Conflict, "already taken by port"},
		{"gateway IP", CreatePortRequest{Network: "tiny", FixedIP: netip.MustParseAddr("10.9.0.1")}, fault.Conflict, "gateway"},
		{"outside IP", CreatePortRequest{Network: "tiny", FixedIP: netip.MustParseAddr("10.9.1.3")}, fault.Invalid, "not a host address"},
		{"broadcast IP", CreatePortRequest{Network: "tiny", FixedIP: netip.MustParseAddr("10.9.0.7")}, fault.Invalid, "not a host address"},
		{"taken MAC", CreatePortRequest{Network: "tiny", MAC: "52:54:00:aa:bb:cc"}, fault.Conflict, "already used"},
		{"multicast MAC", CreatePortRequest{Network: "tiny", MAC: "01:00:5e:00:00:01"}, fault.Invalid, "unicast"},
		{"unknown network", CreatePortRequest{Network: "nope"}, fault.NotFound, "nope"},
	} {
		_, err := s.CreatePort(ctx, proj, c.r)
		if fault.KindOf(err) != c.kind || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (kind %q), want %s naming %q", c.name, err, fault.KindOf(err), c.kind, c.want)
		}
	}
	for i := 0; i < 3; i++ { // .3, .4, .5 are left
		if _, err := s.CreatePort(ctx, proj, CreatePortRequest{Network: "tiny"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreatePort(ctx, proj, CreatePortRequest{Network: "tiny"}); fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "no free address") {
		t.Errorf("exhausted pool: %v", err)
	}
	if err := s.DeleteNetwork(ctx, proj, "tiny"); fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "delete its ports first") {
		t.Errorf("delete a network with ports: %v", err)
	}
	if err := s.DeletePort(ctx, proj, a.ID); err != nil {
		t.Fatal(err)
	}
	again, err := s.CreatePort(ctx, proj, CreatePortRequest{Network: "tiny"})
	if err != nil || again.FixedIPs[0] != a.FixedIPs[0] {
		t.Errorf("after freeing %s got %+v (%v): want the freed address back", a.FixedIPs[0], again, err)
	}
}

func TestConcurrentPortsNeverShareAnAddress(t *testing.T) {
	s := newService(t)
	if _, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "busy", Subnet: subnet("10.10.0.0/24")}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[netip.Addr]bool{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := s.CreatePort(ctx, proj, CreatePortRequest{Network: "busy"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[p.FixedIPs[0]] {
				t.Errorf("address %s handed out twice", p.FixedIPs[0])
			}
			seen[p.FixedIPs[0]] = true
		}()
	}
	wg.Wait()
}

func TestDefaultNetworkTakesTheFirstFreeSlash24OnFirstStart(t *testing.T) {
	s := newService(t, "10.88.0.0/24", "10.88.1.0/25") // the host already routes these
	n, err := s.EnsureDefaultNetwork(ctx, proj)
	if err != nil || n.Subnet.CIDR != netip.MustParsePrefix("10.88.2.0/24") || !n.Subnet.DHCP || n.Kind != KindNAT {
		t.Fatalf("default network %+v (%v): want NAT on 10.88.2.0/24 with DHCP", n, err)
	}
	if err := s.DeleteNetwork(ctx, proj, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "mine", Subnet: subnet("10.50.0.0/24")}); err != nil {
		t.Fatal(err)
	}
	if again, err := s.EnsureDefaultNetwork(ctx, proj); err != nil || again != nil {
		t.Errorf("a later start made a default network again: %+v (%v)", again, err)
	}
}
