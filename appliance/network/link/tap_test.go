package link_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/network/link"
)

type tapState struct {
	Master, MTU, Owner string
	Up, Persist        bool
	VnetHdr, MultiQ    bool
	MAC                string
}

func readTap(t *testing.T, name string) tapState {
	t.Helper()
	l := byName(t, name)
	tt, ok := l.(*netlink.Tuntap)
	if !ok || tt.Mode != netlink.TUNTAP_MODE_TAP {
		t.Fatalf("%s is a %s (%+v), want a tap", name, l.Type(), l)
	}
	master := ""
	if idx := l.Attrs().MasterIndex; idx != 0 {
		m, err := netlink.LinkByIndex(idx)
		if err != nil {
			t.Fatal(err)
		}
		master = m.Attrs().Name
	}
	return tapState{
		Master:  master,
		MTU:     sysNet(t, name, "mtu"),
		Owner:   sysNet(t, name, "owner"),
		Up:      l.Attrs().Flags&net.FlagUp != 0,
		Persist: !tt.NonPersist,
		VnetHdr: tt.Flags&netlink.TUNTAP_VNET_HDR != 0,
		MultiQ:  tt.Flags&netlink.TUNTAP_MULTI_QUEUE != 0,
		MAC:     sysNet(t, name, "address"),
	}
}

// TestEnsureTap: the tap is a persistent root-owned single-queue vnet_hdr tap on the bridge, up,
// with a locally administered fe:… MAC that is not the guest's; a second EnsureTap changes nothing,
// and a third with another bridge moves it.
func TestEnsureTap(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-tap", "10.88.5.1/24")
	tp := tap(t, "port-tap", b, "52:54:00:12:34:56")
	first := readTap(t, tp.Name)
	want := tapState{Master: b.Name, MTU: "1500", Owner: "0", Up: true, Persist: true, VnetHdr: true, MAC: first.MAC}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("after EnsureTap (-want +got):\n%s", diff)
	}
	if first.MAC == tp.MAC.String() || !strings.HasPrefix(first.MAC, "fe:") {
		t.Errorf("tap MAC = %s, want fe:… and not the guest's %s", first.MAC, tp.MAC)
	}
	if err := link.EnsureTap(tp); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, readTap(t, tp.Name)); diff != "" {
		t.Errorf("second EnsureTap changed the tap (-first +second):\n%s", diff)
	}

	other := bridge(t, "net-tap-2", "10.88.6.1/24")
	tp.Bridge = other.Name
	if err := link.EnsureTap(tp); err != nil {
		t.Fatal(err)
	}
	if got := readTap(t, tp.Name).Master; got != other.Name {
		t.Errorf("master after moving = %q, want %q", got, other.Name)
	}
}

// TestTapMACNeverGuestMAC: even a guest MAC in the tap's own fe:… range gets a different one.
func TestTapMACNeverGuestMAC(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-mac", "10.88.7.1/24")
	tp := tap(t, "port-mac", b, "52:54:00:00:00:01")
	collide, _ := net.ParseMAC(readTap(t, tp.Name).MAC)
	tp.MAC = collide
	if err := link.EnsureTap(tp); err != nil {
		t.Fatal(err)
	}
	if got := readTap(t, tp.Name).MAC; got == collide.String() {
		t.Errorf("tap MAC = guest MAC %s", got)
	}
}

func TestRemoveTapIdempotent(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-rmtap", "10.88.8.1/24")
	tp := tap(t, "port-rmtap", b, "52:54:00:00:00:02")
	for i := 0; i < 2; i++ {
		if err := link.RemoveTap(tp.Name); err != nil {
			t.Fatalf("RemoveTap #%d: %v", i+1, err)
		}
	}
	if _, err := netlink.LinkByName(tp.Name); err == nil {
		t.Errorf("%s still exists after RemoveTap", tp.Name)
	}
	if err := link.RemoveTap(b.Name); !errors.Is(err, link.ErrWrongKind) || !strings.Contains(err.Error(), b.Name) {
		t.Errorf("RemoveTap(bridge) = %v, want ErrWrongKind naming %s", err, b.Name)
	}
}

// TestTapErrors: refusals carry a fault kind and name the tap, the bridge and the call.
func TestTapErrors(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-taperr", "10.88.9.1/24")
	mac, _ := net.ParseMAC("52:54:00:00:00:03")
	missing := link.BridgeName("no-such-network")
	tests := []struct {
		name  string
		tap   link.Tap
		is    error
		kind  fault.Kind
		parts []string
	}{
		{"no bridge", link.Tap{Name: "clt-e1", Bridge: missing, MAC: mac}, link.ErrNotFound, fault.NotFound, []string{"clt-e1", "netlink.LinkByName(" + missing + ")"}},
		{"bridge is a tap", link.Tap{Name: "clt-e2", Bridge: "clt-e1", MAC: mac}, link.ErrNotFound, fault.NotFound, []string{"clt-e2", "clt-e1"}},
		{"name is the bridge", link.Tap{Name: b.Name, Bridge: b.Name, MAC: mac}, link.ErrWrongKind, fault.Conflict, []string{b.Name, "bridge"}},
		{"no MAC", link.Tap{Name: "clt-e3", Bridge: b.Name}, link.ErrInvalid, fault.Invalid, []string{"clt-e3", "MAC"}},
		{"no name", link.Tap{Bridge: b.Name, MAC: mac}, link.ErrInvalid, fault.Invalid, []string{"name"}},
	}
	for _, tt := range tests {
		err := link.EnsureTap(tt.tap)
		if !errors.Is(err, tt.is) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.is)
			continue
		}
		if k := fault.KindOf(err); k != tt.kind {
			t.Errorf("%s: kind %q, want %q", tt.name, k, tt.kind)
		}
		for _, p := range tt.parts {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%s: %q does not name %q", tt.name, err, p)
			}
		}
	}
	if left, _ := link.List(link.TapPrefix); len(left) > 0 {
		t.Errorf("refused EnsureTaps left %v", left)
	}
}
