package link_test

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/network/link"
)

// addLink makes l in the test namespace and removes it when the test ends.
func addLink(t *testing.T, l netlink.Link) {
	t.Helper()
	if err := netlink.LinkAdd(l); err != nil {
		t.Fatalf("netlink.LinkAdd(%s): %v", l.Attrs().Name, err)
	}
	t.Cleanup(func() { netlink.LinkDel(l) })
}

// Finding 1: an uplink is a real host interface: a NIC (here a veth) or a host bridge that is the
// LAN; never the loopback, a cloudlet bridge or tap, or any tap.
func TestProbe01CheckUplink(t *testing.T) {
	skipShort(t)
	addLink(t, &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth7"}, PeerName: "eth8"})
	addLink(t, &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "vmbr7"}})
	addLink(t, &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: "guest7"}, Mode: netlink.TUNTAP_MODE_TAP})
	b := bridge(t, "uplink-test", "10.77.0.1/24")
	for name, want := range map[string]error{
		"eth7": nil, "vmbr7": nil,
		"lo": link.ErrInvalid, b.Name: link.ErrInvalid, "guest7": link.ErrInvalid,
		"nope7": link.ErrNotFound,
	} {
		if err := link.CheckUplink(name); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("CheckUplink(%s) = %v, want %v", name, err, want)
		}
	}
}
