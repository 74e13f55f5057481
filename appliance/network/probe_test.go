package network

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// The tests of the black-box probe's findings on networks (issue 10): 1 (LAN takeover through
// external networks and uplinks), 2 (networks that break the host), 9 (port forwards on host
// ports) and 14 (conflicts naming other projects' resources).

// Finding 2: a subnet on the host's loopback, "this network", link-local, multicast (which answered
// 500: its DNS server's bind on 224.0.0.1:53 took port 53 from every other network's), reserved or
// broadcast is refused with 400 to everyone, admins included, whatever the kind.
func TestProbe02ReservedSubnetsAreRefusedToEveryone(t *testing.T) {
	s := newService(t)
	for _, c := range []struct{ cidr, word string }{
		{"127.0.0.0/24", "loopback"},
		{"127.1.0.0/16", "loopback"},
		{"0.0.0.0/24", "this network"},
		{"169.254.5.0/24", "link-local"},
		{"224.0.0.0/24", "multicast"},
		{"239.255.255.0/24", "multicast"},
		{"240.0.0.0/24", "reserved"},
		{"255.255.255.0/24", "broadcast"},
	} {
		for _, r := range []CreateNetworkRequest{
			{Name: "member", Subnet: subnet(c.cidr)},
			{Name: "admin", Subnet: subnet(c.cidr), AnyCIDR: true},
			{Name: "ext", External: true, Uplink: "eth0", Subnet: subnet(c.cidr), AnyCIDR: true},
			{Name: "br", Kind: KindBridged, Bridge: "vmbr0", Subnet: subnet(c.cidr), AnyCIDR: true},
		} {
			_, err := s.CreateNetwork(ctx, proj, r)
			wantFault(t, r.Name+" on "+c.cidr, err, fault.Invalid, c.cidr, c.word)
		}
	}
	if all := must1(s.Networks(ctx, "")); len(all) != 0 {
		t.Errorf("networks after the refusals: %+v", all)
	}
}

// Finding 2: members put networks only on the private unicast ranges and the ones the admin
// allowed (403 naming them); an admin may use any other unreserved range.
func TestProbe02MemberSubnetsArePrivateUnlessAllowed(t *testing.T) {
	s := newService(t)
	s.memberCIDRs = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	for i, cidr := range []string{"10.7.0.0/24", "172.31.0.0/16", "192.168.77.0/24", "100.64.3.0/24", "203.0.113.0/25"} {
		if _, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "ok" + string(rune('a'+i)), Subnet: subnet(cidr)}); err != nil {
			t.Errorf("member network on %s: %v", cidr, err)
		}
	}
	for _, cidr := range []string{"8.8.8.0/24", "172.32.0.0/24", "100.128.0.0/24", "198.51.100.0/24", "192.0.2.0/24"} {
		_, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "no", Subnet: subnet(cidr)})
		wantFault(t, "member network on "+cidr, err, fault.Forbidden, cidr, "10.0.0.0/8", "203.0.113.0/24", "network_cidrs_allowed")
	}
	if _, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "admins", Subnet: subnet("198.51.100.0/24"), AnyCIDR: true}); err != nil {
		t.Errorf("admin network on 198.51.100.0/24: %v", err)
	}
	for _, bad := range []string{"127.0.0.0/8", "10.0.0.1/8"} {
		if err := CheckMemberCIDRs([]netip.Prefix{netip.MustParsePrefix(bad)}); fault.KindOf(err) != fault.Invalid {
			t.Errorf("allowing members %s: %v, want refused", bad, err)
		}
	}
}

// Finding 2: what the host owns counts as overlap, as its routes do: an address of its own (the
// local table's /32s) makes the subnet around it taken.
func TestProbe02HostAddressesCountAsOverlap(t *testing.T) {
	s := newService(t, "192.168.1.10/32")
	_, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lan", Subnet: subnet("192.168.1.0/24")})
	wantFault(t, "network over a host address", err, fault.Conflict, "192.168.1.10/32", "host already routes")
}

// Finding 1: an uplink is a host interface to the outside: never the loopback nor one of
// cloudlet's bridges or taps (400, also for an admin); only an external network is shared.
func TestProbe01UplinkMustBeARealHostInterface(t *testing.T) {
	s := newService(t)
	for _, uplink := range []string{"lo", "clbr-1a2b3c4d", "clt-0123456789"} {
		for _, kind := range []string{KindExternal, KindNAT} {
			_, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "x", Kind: kind, Uplink: uplink,
				Subnet: subnet("198.51.100.0/24"), AnyCIDR: true})
			wantFault(t, kind+" network on uplink "+uplink, err, fault.Invalid, uplink, "host interface")
		}
	}
	_, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "x", Shared: true, Subnet: subnet("10.3.0.0/24")})
	wantFault(t, "a shared nat network", err, fault.Invalid, "only an external network is shared")
}

// Finding 1: a project takes floating IPs from its own external networks and the shared ones;
// another project's unshared external network answers 404, by name and by id, as if it did not
// exist, and is not listed. Shared ones are listed and shown to every project, but stay their
// owner's: another project cannot delete them.
func TestProbe01FloatingIPsComeOnlyFromOwnOrSharedExternalNetworks(t *testing.T) {
	s, _ := newPublishingService(t) // proj's shared "public"
	private := publicRequest()
	private.Name, private.Shared, private.Uplink = "lanext", false, "uplink1"
	private.Subnet = Subnet{CIDR: netip.MustParsePrefix("198.51.100.0/24")}
	lanext := must1(s.CreateNetwork(ctx, proj, private))
	must1(s.CreateNetwork(ctx, "p2", CreateNetworkRequest{Name: "mine", Subnet: subnet("10.2.0.0/24")}))
	for _, ref := range []string{"lanext", lanext.ID} {
		_, err := s.CreateFloatingIP(ctx, "p2", CreateFloatingIPRequest{Network: ref, IP: addr("198.51.100.254")})
		wantFault(t, "p2's floating IP from p1's unshared network "+ref, err, fault.NotFound, ref)
		_, err = s.Network(ctx, "p2", ref)
		wantFault(t, "p2 shows p1's unshared network", err, fault.NotFound)
	}
	if f, err := s.CreateFloatingIP(ctx, "p2", CreateFloatingIPRequest{Network: "public"}); err != nil || f.ProjectID != "p2" {
		t.Errorf("p2's floating IP from the shared network: %+v %v", f, err)
	}
	var names []string
	for _, n := range must1(s.Networks(ctx, "p2")) {
		names = append(names, n.Name)
	}
	if strings.Join(names, ",") != "mine,public" {
		t.Errorf("p2 lists %v, want its own mine and the shared public", names)
	}
	if n, err := s.Network(ctx, "p2", "public"); err != nil || !n.Shared {
		t.Errorf("p2 shows the shared network: %+v %v", n, err)
	}
	wantFault(t, "p2 deletes the shared network", s.DeleteNetwork(ctx, "p2", "public"), fault.NotFound)
}

// Finding 9: members forward only host ports of the admin's range; below 1024 is admin-only (403
// naming the range); an admin may use any free port.
func TestProbe09MembersForwardOnlyFromTheRange(t *testing.T) {
	s, _ := newPublishingService(t)
	for _, c := range []struct {
		port  int
		words []string
	}{
		{22, []string{"host port 22", "below 1024 are admin-only", "20000-29999"}},
		{1023, []string{"host port 1023", "admin-only"}},
		{8080, []string{"host port 8080", "outside the range", "20000-29999"}},
		{19999, []string{"20000-29999"}},
		{30000, []string{"20000-29999"}},
	} {
		_, err := s.CreatePortForward(ctx, proj, memberForward("web", "tcp", c.port, 80))
		wantFault(t, "member forward on "+strconv.Itoa(c.port), err, fault.Forbidden, c.words...)
	}
	for _, port := range []int{20000, 29999} {
		if _, err := s.CreatePortForward(ctx, proj, memberForward("web", "tcp", port, 80)); err != nil {
			t.Errorf("member forward on %d: %v", port, err)
		}
	}
	if _, err := s.CreatePortForward(ctx, proj, forward("web", "tcp", 22, 22)); err != nil {
		t.Errorf("admin forward on 22: %v", err)
	}
	s.forwardRange = must1(ParsePortRange("30000-30010"))
	_, err := s.CreatePortForward(ctx, proj, memberForward("db", "tcp", 20001, 80))
	wantFault(t, "member forward outside a configured range", err, fault.Forbidden, "30000-30010")
	if _, err := s.CreatePortForward(ctx, proj, memberForward("db", "tcp", 30005, 80)); err != nil {
		t.Errorf("member forward in a configured range: %v", err)
	}
}

// Finding 9: the admin's range is two ports, never reaching below 1024.
func TestProbe09ForwardRangeIsChecked(t *testing.T) {
	for in, want := range map[string]PortRange{"20000-29999": {20000, 29999}, "25000": {25000, 25000}, " 1024 - 2048": {1024, 2048}} {
		if got, err := ParsePortRange(in); err != nil || got != want {
			t.Errorf("ParsePortRange(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "80-90", "1000-2000", "30000-20000", "20000-65536", "a-b", "20000-"} {
		if got, err := ParsePortRange(in); err == nil {
			t.Errorf("ParsePortRange(%q) = %v, want an error", in, got)
		}
	}
}

// Finding 14: a conflict with another project's network, port, floating IP or forward says what
// conflicts, never whose: no name, id, fixed address or port of theirs.
func TestProbe14ConflictsNeverNameAnotherProject(t *testing.T) {
	s, _ := newPublishingService(t) // proj: shared "public", "lan" with ports web and db
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "secretnet", Subnet: subnet("10.9.0.0/24")}))
	secret := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "secretport", Network: "secretnet", MAC: "fa:16:3e:00:00:01"}))
	fip := must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Name: "secretfip", Network: "public", Port: "web"}))
	fwd := forward("web", "tcp", 20000, 8443)
	fwd.Name = "secretfwd"
	pf := must1(s.CreatePortForward(ctx, proj, fwd))
	must1(s.CreateNetwork(ctx, "p2", CreateNetworkRequest{Name: "mine", Subnet: subnet("10.2.0.0/24")}))
	must1(s.CreatePort(ctx, "p2", CreatePortRequest{Name: "app", Network: "mine"}))
	theirs := []string{"secretnet", "secretport", secret.ID, "secretfip", fip.ID, "web", "secretfwd", pf.ID,
		"10.1.2.", "8443", proj}
	attempt := func(what string, err error, words ...string) {
		t.Helper()
		wantFault(t, what, err, fault.Conflict, words...)
		for _, w := range theirs {
			if err != nil && strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q names %q of another project", what, err, w)
			}
		}
	}
	_, err := s.CreateNetwork(ctx, "p2", CreateNetworkRequest{Name: "over", Subnet: subnet("10.9.0.0/16")})
	attempt("overlapping subnet", err, "10.9.0.0/16", "overlaps another network's subnet")
	_, err = s.CreatePort(ctx, "p2", CreatePortRequest{Name: "twin", Network: "mine", MAC: "fa:16:3e:00:00:01"})
	attempt("MAC taken", err, "fa:16:3e:00:00:01", "in use")
	_, err = s.CreateFloatingIP(ctx, "p2", CreateFloatingIPRequest{Network: "public", IP: fip.IP})
	attempt("floating address taken", err, fip.IP.String(), "in use")
	_, err = s.CreatePortForward(ctx, "p2", memberForward("app", "tcp", 20000, 80))
	attempt("host port forwarded", err, "20000/tcp", "in use")
	must1(s.CreateFloatingIP(ctx, "p2", CreateFloatingIPRequest{Network: "public", Port: "app"}))
	must0(t, s.DeleteFloatingIP(ctx, proj, fip.ID))
	err = s.DeleteNetwork(ctx, proj, "public")
	wantFault(t, "deleting a shared network another project holds an address of", err, fault.Conflict, "another project")

	// The caller's own resources are still named: that is what helps.
	_, err = s.CreatePort(ctx, proj, CreatePortRequest{Name: "twin", Network: "lan", MAC: "fa:16:3e:00:00:01"})
	wantFault(t, "own MAC taken", err, fault.Conflict, "secretport")
	_, err = s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "over", Subnet: subnet("10.9.0.0/16")})
	wantFault(t, "own overlapping subnet", err, fault.Conflict, "secretnet")
}

// Finding 1: an admin shares an external network after the fact, or stops sharing it; it refuses
// to stop while another project holds a floating IP from it, and only external networks are shared.
func TestProbe01SharingAnExternalNetworkLater(t *testing.T) {
	s, _ := newPublishingService(t)
	private := publicRequest()
	private.Name, private.Shared, private.Uplink = "lanext", false, "uplink1"
	private.Subnet = Subnet{CIDR: netip.MustParsePrefix("198.51.100.0/24")}
	must1(s.CreateNetwork(ctx, proj, private))
	share := func(project, ref string, on bool) error {
		_, err := s.UpdateNetwork(ctx, project, ref, UpdateNetworkRequest{Shared: &on})
		return err
	}
	wantFault(t, "p2 shares p1's network", share("p2", "lanext", true), fault.NotFound)
	must0(t, share(proj, "lanext", true))
	f := must1(s.CreateFloatingIP(ctx, "p2", CreateFloatingIPRequest{Network: "lanext"}))
	wantFault(t, "unsharing while p2 holds an address", share(proj, "lanext", false), fault.Conflict, "other projects")
	must0(t, s.DeleteFloatingIP(ctx, "p2", f.ID))
	must0(t, share(proj, "lanext", false))
	_, err := s.CreateFloatingIP(ctx, "p2", CreateFloatingIPRequest{Network: "lanext"})
	wantFault(t, "p2's floating IP after unsharing", err, fault.NotFound)
	wantFault(t, "sharing a nat network", share(proj, "lan", true), fault.Invalid, "only an external network")
	_, err = s.UpdateNetwork(ctx, proj, "lanext", UpdateNetworkRequest{})
	wantFault(t, "an empty update", err, fault.Invalid, "shared")
}
