package network

import (
	"net/netip"
	"testing"

	"cloudlet/appliance/fault"
)

func TestANetworkMadeWithoutASubnetGetsAFreeAutoRange(t *testing.T) {
	s := newService(t, "10.88.0.0/24")
	n := must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "n1"}))
	if n.Subnet.CIDR != netip.MustParsePrefix("10.88.1.0/24") || !n.Subnet.Auto || !n.Subnet.DHCP {
		t.Errorf("subnet %+v: want the first free /24 of 10.88.0.0/16 (10.88.1.0/24), auto, with DHCP", n.Subnet)
	}
	given := must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "n2", Subnet: Subnet{CIDR: netip.MustParsePrefix("10.9.0.0/24"), Auto: true}}))
	if given.Subnet.Auto {
		t.Errorf("a subnet the caller gave is marked auto: %+v", given.Subnet)
	}
	_, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lanext", Kind: KindExternal, Uplink: "eth0"})
	wantFault(t, "an external network without a subnet", err, fault.Invalid, "cidr")
}

func TestUpdateNetworkRenamesAndReaddressesWhileNoAddressIsUsed(t *testing.T) {
	s := newService(t)
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "n1"}))
	name := "renamed"
	sn := subnet("10.77.0.0/24")
	sn.Name = "s1"
	n := must1(s.UpdateNetwork(ctx, proj, "n1", UpdateNetworkRequest{Name: &name, Subnet: &sn}))
	if n.Name != "renamed" || n.Subnet.CIDR != sn.CIDR || n.Subnet.Name != "s1" || n.Subnet.Auto ||
		n.Subnet.Gateway != netip.MustParseAddr("10.77.0.1") {
		t.Fatalf("network %+v: want renamed, subnet s1 10.77.0.0/24 (gateway .1), not auto", n)
	}
	p := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "p1", Network: "renamed"}))
	moved := subnet("10.78.0.0/24")
	_, err := s.UpdateNetwork(ctx, proj, "renamed", UpdateNetworkRequest{Subnet: &moved})
	wantFault(t, "re-addressing with a port on it", err, fault.Conflict, "p1", "in use")
	same := subnet("10.77.0.0/24")
	same.Name, same.Auto = "s2", true
	if n = must1(s.UpdateNetwork(ctx, proj, "renamed", UpdateNetworkRequest{Subnet: &same})); n.Subnet.Name != "s2" || !n.Subnet.Auto {
		t.Errorf("subnet %+v: a new name and auto mark need no free network", n.Subnet)
	}
	must0(t, s.DeletePort(ctx, proj, p.ID))
	if n = must1(s.UpdateNetwork(ctx, proj, "renamed", UpdateNetworkRequest{Subnet: &moved})); n.Subnet.CIDR != moved.CIDR {
		t.Errorf("subnet %s after the port left: want %s", n.Subnet.CIDR, moved.CIDR)
	}
}

func TestUpdateNetworkRefusesOverlapsAndHostSubnets(t *testing.T) {
	s := newService(t, "192.168.1.0/24")
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "a", Subnet: subnet("10.5.0.0/24")}))
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "b"}))
	for _, c := range []struct {
		cidr  string
		kind  fault.Kind
		words string
	}{
		{"10.5.0.0/25", fault.Conflict, "overlaps subnet 10.5.0.0/24 of network a"},
		{"192.168.1.0/24", fault.Conflict, "host already routes"},
		{"8.8.8.0/24", fault.Forbidden, "outside the ranges"},
	} {
		sn := subnet(c.cidr)
		_, err := s.UpdateNetwork(ctx, proj, "b", UpdateNetworkRequest{Subnet: &sn})
		wantFault(t, "re-addressing to "+c.cidr, err, c.kind, c.words)
	}
}
