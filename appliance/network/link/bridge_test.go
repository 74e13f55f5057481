package link_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/network/link"
)

type bridgeState struct {
	STP, ForwardDelay, MTU, MAC string
	Up                          bool
	Addrs                       []string
}

func readBridge(t *testing.T, name string) bridgeState {
	t.Helper()
	l := byName(t, name)
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range addrs {
		got = append(got, a.IPNet.String())
	}
	slices.Sort(got)
	return bridgeState{
		STP:          sysNet(t, name, "bridge/stp_state"),
		ForwardDelay: sysNet(t, name, "bridge/forward_delay"),
		MTU:          sysNet(t, name, "mtu"),
		MAC:          sysNet(t, name, "address"),
		Up:           l.Attrs().Flags&net.FlagUp != 0,
		Addrs:        got,
	}
}

// TestEnsureBridgeIdempotent: a second EnsureBridge leaves exactly the state the first made.
func TestEnsureBridgeIdempotent(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-idem", "10.88.0.1/24")
	first := readBridge(t, b.Name)
	want := bridgeState{STP: "0", ForwardDelay: "0", MTU: "1500", MAC: first.MAC, Up: true, Addrs: []string{"10.88.0.1/24"}}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("after EnsureBridge (-want +got):\n%s", diff)
	}
	if mac, _ := net.ParseMAC(first.MAC); len(mac) != 6 || mac[0]&2 == 0 {
		t.Errorf("bridge MAC %s is not locally administered", first.MAC)
	}
	if err := link.EnsureBridge(b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, readBridge(t, b.Name)); diff != "" {
		t.Errorf("second EnsureBridge changed the bridge (-first +second):\n%s", diff)
	}
}

// TestEnsureBridgeRepairs: an existing bridge with STP on, a 15 s forward delay, another MTU and
// stray addresses is brought back to the spec, with the new gateway as its only address.
func TestEnsureBridgeRepairs(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-repair", "10.88.1.1/24")
	l := byName(t, b.Name)
	writeSys(t, b.Name, "bridge/stp_state", "1")
	writeSys(t, b.Name, "bridge/forward_delay", "1500")
	if err := netlink.LinkSetMTU(l, 1400); err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 99, 0, 1), Mask: net.CIDRMask(16, 32)}}); err != nil {
		t.Fatal(err)
	}
	b.Gateway, b.MTU = netip.MustParsePrefix("10.88.2.1/23"), 9000
	if err := link.EnsureBridge(b); err != nil {
		t.Fatal(err)
	}
	got := readBridge(t, b.Name)
	want := bridgeState{STP: "0", ForwardDelay: "0", MTU: "9000", MAC: got.MAC, Up: true, Addrs: []string{"10.88.2.1/23"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after EnsureBridge (-want +got):\n%s", diff)
	}
}

func writeSys(t *testing.T, name, attr, v string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("/sys/class/net", name, attr), []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveBridgeIdempotent(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-remove", "10.88.3.1/24")
	for i := 0; i < 2; i++ {
		if err := link.RemoveBridge(b.Name); err != nil {
			t.Fatalf("RemoveBridge #%d: %v", i+1, err)
		}
	}
	if _, err := netlink.LinkByName(b.Name); err == nil {
		t.Errorf("%s still exists after RemoveBridge", b.Name)
	}
}

// TestBridgeErrors: refusals carry a fault kind and name the link and the call.
func TestBridgeErrors(t *testing.T) {
	skipShort(t)
	dummy := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "clbr-dummy0"}, PeerName: "peer-dummy0"}
	if err := netlink.LinkAdd(dummy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(dummy) })
	gw := netip.MustParsePrefix("10.88.4.1/24")
	tests := []struct {
		name  string
		err   error
		is    error
		kind  fault.Kind
		parts []string
	}{
		{"not a bridge", link.EnsureBridge(link.Bridge{Name: "clbr-dummy0", Gateway: gw}), link.ErrWrongKind, fault.Conflict, []string{"clbr-dummy0", "veth"}},
		{"remove not a bridge", link.RemoveBridge("clbr-dummy0"), link.ErrWrongKind, fault.Conflict, []string{"clbr-dummy0"}},
		{"name too long", link.EnsureBridge(link.Bridge{Name: "clbr-0123456789ab", Gateway: gw}), link.ErrInvalid, fault.Invalid, []string{"clbr-0123456789ab"}},
		{"ipv6 gateway", link.EnsureBridge(link.Bridge{Name: "clbr-x", Gateway: netip.MustParsePrefix("fd00::1/64")}), link.ErrInvalid, fault.Invalid, []string{"clbr-x", "fd00::1/64"}},
		{"no gateway", link.EnsureBridge(link.Bridge{Name: "clbr-x"}), link.ErrInvalid, fault.Invalid, []string{"clbr-x"}},
		{"bad mtu", link.EnsureBridge(link.Bridge{Name: "clbr-x", Gateway: gw, MTU: 10}), link.ErrInvalid, fault.Invalid, []string{"mtu 10"}},
		{"netlink refuses", link.EnsureBridge(link.Bridge{Name: "clbr-bad/", Gateway: gw}), nil, fault.Internal, []string{"netlink.LinkAdd(clbr-bad/)"}},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if tt.is != nil && !errors.Is(tt.err, tt.is) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.is)
		}
		if k := fault.KindOf(tt.err); k != tt.kind {
			t.Errorf("%s: kind %q, want %q", tt.name, k, tt.kind)
		}
		for _, p := range tt.parts {
			if !strings.Contains(tt.err.Error(), p) {
				t.Errorf("%s: %q does not name %q", tt.name, tt.err, p)
			}
		}
	}
	if _, err := netlink.LinkByName("clbr-x"); err == nil {
		t.Error("a refused EnsureBridge created clbr-x")
	}
}

// TestCheckBridge: a bridged network may name an existing bridge only.
func TestCheckBridge(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-check", "10.88.5.1/24")
	tp := tap(t, "port-check", b, "52:54:00:12:34:56")
	for _, tc := range []struct {
		name string
		is   error
	}{{b.Name, nil}, {tp.Name, link.ErrWrongKind}, {"nosuchbr0", link.ErrNotFound}} {
		if err := link.CheckBridge(tc.name); !errors.Is(err, tc.is) {
			t.Errorf("CheckBridge(%s) = %v, want %v", tc.name, err, tc.is)
		}
	}
}
