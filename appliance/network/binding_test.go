package network

import (
	"net/netip"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/network/link"
	"cloudlet/store"
)

// BindPort records owner, device and the device's name (for messages) on the port once: binding it again to the same device is a no-op,
// to another one a conflict naming the instance; unknown ports and bad requests are refused.
func TestBindPortRecordsTheDevice(t *testing.T) {
	s, _ := newPublishingService(t)
	p := must1(s.BindPort(ctx, proj, "web", OwnerInstance, "i1", "alpha"))
	if p.DeviceOwner != OwnerInstance || p.DeviceID != "i1" || p.DeviceName != "alpha" {
		t.Fatalf("bound port %+v, want owner %s device i1 named alpha", p, OwnerInstance)
	}
	if got := must1(s.Port(ctx, proj, p.ID)); got.DeviceID != "i1" || got.FixedIPs[0] != p.FixedIPs[0] {
		t.Errorf("stored port %+v, want device i1 and its address", got)
	}
	if again, err := s.BindPort(ctx, proj, p.ID, OwnerInstance, "i1", "alpha"); err != nil || again.DeviceID != "i1" {
		t.Errorf("binding again to the same instance: %+v, %v", again, err)
	}
	_, err := s.BindPort(ctx, proj, "web", OwnerInstance, "i2", "beta")
	wantFault(t, "bind to a second instance", err, fault.Conflict, "web", "instance alpha")
	_, err = s.PortBindable(ctx, proj, "web", OwnerInstance, "")
	wantFault(t, "bindable while bound", err, fault.Conflict, "instance alpha")
	if q, err := s.PortBindable(ctx, proj, "db", OwnerInstance, ""); err != nil || q.Name != "db" {
		t.Errorf("a free port is not bindable: %+v, %v", q, err)
	}
	_, err = s.BindPort(ctx, proj, "nope", OwnerInstance, "i1", "alpha")
	wantFault(t, "unknown port", err, fault.NotFound, "nope")
	_, err = s.BindPort(ctx, "p2", "db", OwnerInstance, "i1", "alpha")
	wantFault(t, "another project's port", err, fault.NotFound, "db")
	_, err = s.BindPort(ctx, proj, "db", "", "i1", "alpha")
	wantFault(t, "no owner", err, fault.Invalid, "owner")
}

// UnbindPort clears the binding and nothing else: address, rules (and so the tap) stay, and the port
// can be bound again. Unbinding for a device the port is no longer bound to leaves it alone.
func TestUnbindPortKeepsThePort(t *testing.T) {
	s, fw := newPublishingService(t)
	p := must1(s.BindPort(ctx, proj, "web", OwnerInstance, "i1", "alpha"))
	rules := fw.last(t)
	must0(t, s.UnbindPort(ctx, p.ID, "i2"))
	if got := must1(s.Port(ctx, proj, "web")); got.DeviceID != "i1" {
		t.Errorf("unbinding for another instance changed the port: %+v", got)
	}
	must0(t, s.UnbindPort(ctx, p.ID, "i1"))
	got := must1(s.Port(ctx, proj, "web"))
	if got.DeviceOwner != "" || got.DeviceID != "" || got.DeviceName != "" || got.FixedIPs[0] != p.FixedIPs[0] || got.MAC != p.MAC {
		t.Errorf("unbound port %+v, want no device and the same MAC and address as %+v", got, p)
	}
	if after := fw.last(t); after != rules || !strings.Contains(after, link.TapName(p.ID)) {
		t.Errorf("rules changed by unbinding or lost the port's tap:\n%s", after)
	}
	must0(t, s.UnbindPort(ctx, p.ID, "")) // already free: nothing to do
	if again := must1(s.BindPort(ctx, proj, "web", OwnerInstance, "i2", "beta")); again.DeviceID != "i2" {
		t.Errorf("rebinding the freed port: %+v", again)
	}
	err := s.UnbindPort(ctx, "no-such-port", "i1")
	wantFault(t, "unbind an unknown port", err, fault.NotFound)
}

// The API cannot delete a port an instance uses (its tap is QEMU's): 409 naming the instance, and the
// port keeps its floating IP. Compute's DeleteInstancePort can, and disassociates the floating IP as
// DeletePort does for a free port.
func TestDeletePortRefusesAPortBoundToAnInstance(t *testing.T) {
	s, _ := newPublishingService(t)
	web := must1(s.BindPort(ctx, proj, "web", OwnerInstance, "i1", "alpha"))
	must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Name: "fip", Network: "public", Port: "web"}))

	err := s.DeletePort(ctx, proj, "web")
	wantFault(t, "delete a port bound to an instance", err, fault.Conflict, "web", "instance alpha")
	if f := must1(s.FloatingIP(ctx, proj, "fip")); f.PortID != web.ID {
		t.Errorf("a refused delete disassociated the floating IP: %+v", f)
	}
	must0(t, s.DeleteInstancePort(ctx, proj, web.ID))
	if _, err := s.Port(ctx, proj, "web"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("port web after DeleteInstancePort: %v", err)
	}
	if f := must1(s.FloatingIP(ctx, proj, "fip")); f.PortID != "" || f.Status != FloatingDown {
		t.Errorf("floating IP of the deleted port: %+v, want disassociated", f)
	}
	must0(t, s.DeletePort(ctx, proj, "db")) // a free port goes as before
}

// Only compute binds ports to instances: the API cannot create a port owned by one (it could neither
// be deleted nor given to an instance), while compute's Instance field makes it bound.
func TestCreatePortForAnInstance(t *testing.T) {
	s, _ := newPublishingService(t)
	_, err := s.CreatePort(ctx, proj, CreatePortRequest{Name: "x", Network: "lan", DeviceOwner: OwnerInstance, DeviceID: "i9"})
	wantFault(t, "device_owner compute:instance from the API", err, fault.Invalid, OwnerInstance)
	p := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "x", Network: "lan", Instance: "i9", InstanceName: "gamma"}))
	if p.DeviceOwner != OwnerInstance || p.DeviceID != "i9" || p.DeviceName != "gamma" {
		t.Errorf("port made for instance i9 (gamma): %+v", p)
	}
	_, err = s.BindPort(ctx, proj, "x", OwnerInstance, "i10", "delta")
	wantFault(t, "bind a port made for another instance", err, fault.Conflict, "x", "instance gamma")
}

// A port on an external network (none can be made through the API) is never bound.
func TestPortOfAnExternalNetworkIsNotBindable(t *testing.T) {
	s, _ := newPublishingService(t)
	pub := must1(s.Network(ctx, proj, "public"))
	odd := &Port{Meta: store.Meta{ID: store.NewID(), Name: "odd", ProjectID: proj}, NetworkID: pub.ID,
		MAC: "fa:16:3e:00:00:01", FixedIPs: []netip.Addr{addr("203.0.113.50")}}
	must0(t, s.db.Update(func(tx *store.Tx) error { return ports.Create(tx, odd) }))
	_, err := s.PortBindable(ctx, proj, "odd", OwnerInstance, "")
	wantFault(t, "bindable on an external network", err, fault.Invalid, "odd", "external", "public")
	_, err = s.BindPort(ctx, proj, "odd", OwnerInstance, "i1", "alpha")
	wantFault(t, "bind on an external network", err, fault.Invalid, "external")
}
