package dhcp

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestArpreqHasTheKernelsLayout(t *testing.T) {
	if got, want := unsafe.Sizeof(arpreq{}), uintptr(68); got != want {
		t.Errorf("sizeof(arpreq) = %d, want %d", got, want)
	}
	if got, want := unsafe.Offsetof(arpreq{}.dev), uintptr(52); got != want {
		t.Errorf("offsetof(arpreq.arp_dev) = %d, want %d", got, want)
	}
}

func TestNeighbourEntryIsWrittenOnTheBridge(t *testing.T) {
	l := newLab(t)
	n, err := openNeighbours(l.Bridge)
	must(t, "openNeighbours", err)
	defer n.close()
	a := l.ServerIP.Next()
	br, err := netlink.LinkByName(l.Bridge)
	must(t, "LinkByName", err)
	var found []netlink.Neigh
	// Now and then (1 run in ~60 here) the first entry does not stick: the previous test's bridge of
	// the same name may still be going away. A DHCP reply sets it again each time, so a retry is fair.
	for try := 0; try < 5 && len(found) == 0; try++ {
		for range 2 { // a renewing guest gets the same entry again
			must(t, "set", n.set(a, l.GuestMAC))
		}
		entries, err := netlink.NeighList(br.Attrs().Index, netlink.FAMILY_V4)
		must(t, "NeighList", err)
		for _, e := range entries {
			if e.IP.Equal(ip(a)) {
				found = append(found, e)
			}
		}
		if len(found) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if len(found) != 1 {
		t.Fatalf("entries for %s on %s: %+v, want one", a, l.Bridge, found)
	}
	if got := found[0].HardwareAddr; got.String() != l.GuestMAC.String() {
		t.Errorf("entry for %s is at %s, want %s", a, got, l.GuestMAC)
	}
	if found[0].State&(netlink.NUD_PERMANENT|netlink.NUD_NOARP) != 0 {
		t.Errorf("entry for %s has state %#x: want one that ages out", a, found[0].State)
	}
}

func TestNeighbourOnAMissingInterfaceFails(t *testing.T) {
	n, err := openNeighbours("nosuchbr0")
	must(t, "openNeighbours", err)
	defer n.close()
	err = n.set(netip.MustParseAddr("10.0.0.2"), net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1})
	if !errors.Is(err, unix.ENODEV) {
		t.Errorf("set on a missing interface: %v, want ENODEV", err)
	}
}
