package appliance

import (
	"net/netip"
	"slices"
	"testing"

	"cloudlet/internal/testkit"

	"github.com/vishvananda/netlink"
)

// inNetns runs f on a thread moved into a new, empty network namespace; the thread is thrown away
// afterwards, so the host's own interfaces and routes are never touched.
func inNetns(t *testing.T, f func() error) {
	t.Helper()
	if err := testkit.OnThreadInNetns(f); err != nil {
		t.Fatal(err)
	}
}

// Finding 2: what the host owns counts in the overlap check: the loopback's 127.0.0.0/8 and an
// address with no subnet route (a /32) are in the local table only, and hostRoutes reports them
// (but not addresses on cloudlet's own bridges).
func TestProbe02HostRoutesIncludeTheLocalTable(t *testing.T) {
	var got []netip.Prefix
	inNetns(t, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		for _, d := range []struct {
			l    netlink.Link
			addr string
		}{
			{&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "lan0"}, PeerName: "lan1"}, "198.51.100.7/32"},
			{&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "clbr-0000test"}}, "10.99.0.1/32"},
		} {
			if err := netlink.LinkAdd(d.l); err != nil {
				return err
			}
			a, _ := netlink.ParseAddr(d.addr)
			if err := netlink.AddrAdd(d.l, a); err != nil {
				return err
			}
			if err := netlink.LinkSetUp(d.l); err != nil {
				return err
			}
		}
		got, err = hostRoutes()
		return err
	})
	for _, want := range []string{"127.0.0.0/8", "198.51.100.7/32"} {
		if !slices.Contains(got, netip.MustParsePrefix(want)) {
			t.Errorf("hostRoutes() = %v, lacks %s", got, want)
		}
	}
	if slices.ContainsFunc(got, func(p netip.Prefix) bool { return p.Contains(netip.MustParseAddr("10.99.0.1")) }) {
		t.Errorf("hostRoutes() = %v: reports an address of cloudlet's own bridge", got)
	}
}
