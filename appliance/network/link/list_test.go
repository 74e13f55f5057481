package link_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"cloudlet/appliance/network/link"
)

// TestList: List finds cloudlet's bridges and taps by prefix and nothing else.
func TestList(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-list", "10.88.11.1/24")
	tp := tap(t, "port-list", b, "52:54:00:00:00:04")
	other := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "clbridge0"}, PeerName: "clt0"}
	if err := netlink.LinkAdd(other); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(other) })
	for prefix, want := range map[string][]string{
		link.BridgePrefix: {b.Name},
		link.TapPrefix:    {tp.Name},
	} {
		got, err := link.List(prefix)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("List(%q) (-want +got):\n%s", prefix, diff)
		}
	}
}
