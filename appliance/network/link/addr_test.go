package link_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"cloudlet/appliance/network/link"
)

// uplink makes a veth interface with addr (the host's own LAN address) and removes it at the end.
func uplink(t *testing.T, name, addr string) {
	t.Helper()
	d := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "-p"}
	if err := netlink.LinkAdd(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(d) })
	a, err := netlink.ParseAddr(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(d, a); err != nil {
		t.Fatal(err)
	}
}

func addrs(t *testing.T, name string) []string {
	t.Helper()
	got, err := link.Addrs(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range got {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}

// TestHostAddrs: a floating IP's /32 comes and goes on an uplink, twice over without error, and the
// uplink's own address stays.
func TestHostAddrs(t *testing.T) {
	skipShort(t)
	uplink(t, "up-addr", "203.0.113.1/24")
	fip := netip.MustParseAddr("203.0.113.10")
	for range 2 {
		if err := link.AddHostAddr("up-addr", fip); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"203.0.113.1/24", "203.0.113.10/32"}, addrs(t, "up-addr")); diff != "" {
		t.Errorf("after AddHostAddr (-want +got):\n%s", diff)
	}
	for range 2 {
		if err := link.RemoveHostAddr("up-addr", fip); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"203.0.113.1/24"}, addrs(t, "up-addr")); diff != "" {
		t.Errorf("after RemoveHostAddr (-want +got):\n%s", diff)
	}
}

// TestHostAddrsOnAMissingInterface: reading or adding names the missing interface (ErrNotFound);
// removing from it has nothing to do.
func TestHostAddrsOnAMissingInterface(t *testing.T) {
	skipShort(t)
	fip := netip.MustParseAddr("203.0.113.10")
	if _, err := link.Addrs("nope0"); !errors.Is(err, link.ErrNotFound) {
		t.Errorf("Addrs(nope0) = %v, want ErrNotFound", err)
	}
	if err := link.AddHostAddr("nope0", fip); !errors.Is(err, link.ErrNotFound) {
		t.Errorf("AddHostAddr(nope0) = %v, want ErrNotFound", err)
	}
	if err := link.RemoveHostAddr("nope0", fip); err != nil {
		t.Errorf("RemoveHostAddr(nope0) = %v, want nil", err)
	}
}
