package link_test

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/network/link"
)

// sysNet reads /sys/class/net/<name>/<attr> (a sysfs of the test namespace, see TestMain).
func sysNet(t *testing.T, name, attr string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/class/net", name, attr))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func byName(t *testing.T, name string) netlink.Link {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatalf("netlink.LinkByName(%s): %v", name, err)
	}
	return l
}

// bridge ensures a bridge for network id and removes it when the test ends.
func bridge(t *testing.T, id, gw string) link.Bridge {
	t.Helper()
	b := link.Bridge{Name: link.BridgeName(id), Gateway: netip.MustParsePrefix(gw), MTU: 1500}
	t.Cleanup(func() {
		if err := link.RemoveBridge(b.Name); err != nil {
			t.Error(err)
		}
	})
	if err := link.EnsureBridge(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// tap ensures a tap for port id on b and removes it when the test ends.
func tap(t *testing.T, id string, b link.Bridge, mac string) link.Tap {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	tp := link.Tap{Name: link.TapName(id), Bridge: b.Name, MAC: hw, MTU: 1500}
	t.Cleanup(func() {
		if err := link.RemoveTap(tp.Name); err != nil {
			t.Error(err)
		}
	})
	if err := link.EnsureTap(tp); err != nil {
		t.Fatal(err)
	}
	return tp
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a private network namespace; run without -short")
	}
}
