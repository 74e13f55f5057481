package compute

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
)

// newNetEnv is newEnv with the fake network service: the test project has networks "default" and "lan".
func newNetEnv(t *testing.T) (*env, *fakeNetworks) {
	t.Helper()
	nets := newFakeNetworks()
	nets.addNetwork(testProject, "default")
	nets.addNetwork(testProject, "lan")
	return newEnv(t, func(o *Options) { o.Networks = nets }), nets
}

func (e *env) createWith(r CreateRequest) (*Instance, error) {
	r.ProjectID, r.Flavor, r.Image = testProject, "m1.tiny", "img"
	return e.svc.Create(context.Background(), r)
}

// macs are the MACs of the NICs QEMU got at its last start, in order.
func (e *env) macs() []string {
	e.hv.mu.Lock()
	defer e.hv.mu.Unlock()
	var out []string
	for _, n := range e.hv.starts[len(e.hv.starts)-1].NICs {
		out = append(out, n.MAC)
	}
	return out
}

func (e *env) deleteAndWait(id string) {
	e.t.Helper()
	if _, err := e.svc.Delete(context.Background(), testProject, id); err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := e.svc.Get(context.Background(), testProject, id); fault.KindOf(err) == fault.NotFound {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("instance %s not deleted", id)
}

// Given ports come first, in order, then one made port per network; the order is recorded and kept by a
// restart; deleting the instance unbinds the given ports (they stay, with their address) and deletes the
// made one.
func TestGivenPortsComeFirstAndOutliveTheInstance(t *testing.T) {
	e, nets := newNetEnv(t)
	// By name the ports sort b, web, zz: the recorded order (zz, b, web), not the name order, decides eth0.
	p2 := nets.addPort("zz", "lan")
	p1 := nets.addPort("b", "lan")
	inst, err := e.createWith(CreateRequest{Name: "web", Ports: []string{"zz", p1}, Networks: []string{"lan"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{p2, p1}, inst.Ports); diff != "" {
		t.Errorf("recorded given ports (-want +got):\n%s", diff)
	}
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if len(got.PortIDs) != 3 || got.PortIDs[0] != p2 || got.PortIDs[1] != p1 {
		t.Fatalf("port_ids %v, want %s, %s, then the made one", got.PortIDs, p2, p1)
	}
	made := nets.port(got.PortIDs[2])
	if made == nil || made.Name != "web" || made.device != inst.ID {
		t.Errorf("made port %+v, want one named web bound to the instance", made)
	}
	want := []string{nets.port(p2).MAC, nets.port(p1).MAC, made.MAC}
	if diff := cmp.Diff(want, e.macs()); diff != "" {
		t.Errorf("QEMU's NICs (-want +got):\n%s", diff)
	}
	if len(got.Addresses) != 3 || got.Addresses[0].IP != nets.port(p2).IP {
		t.Errorf("addresses %+v, want the given ports' first", got.Addresses)
	}

	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	e.act(inst.ID, ActStart)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if diff := cmp.Diff(want, e.macs()); diff != "" {
		t.Errorf("QEMU's NICs after a restart (-want +got):\n%s", diff)
	}

	e.deleteAndWait(inst.ID)
	for _, id := range []string{p1, p2} {
		if p := nets.port(id); p == nil || p.device != "" {
			t.Errorf("given port %s after the instance was deleted: %+v, want it kept and unbound", id, p)
		}
	}
	if nets.port(made.PortID) != nil {
		t.Errorf("made port %s outlived the instance", made.Name)
	}
}

// Create refuses what cannot work, with the right status and naming the culprit.
func TestBadNICRequestsAreRefused(t *testing.T) {
	e, nets := newNetEnv(t)
	nets.addPort("p1", "lan")
	nets.addPort("p2", "lan")
	taken := nets.addPort("taken", "lan")
	nets.bind(taken, "other-instance")
	nine := []string{"lan", "lan", "lan", "lan", "lan", "lan", "lan", "lan"}
	for _, c := range []struct {
		what  string
		r     CreateRequest
		kind  fault.Kind
		words []string
	}{
		{"unknown port", CreateRequest{Ports: []string{"nope"}}, fault.Invalid, []string{"nope"}},
		{"port bound to another instance", CreateRequest{Ports: []string{"taken"}}, fault.Conflict, []string{"taken", "other-instance"}},
		{"port given twice", CreateRequest{Ports: []string{"p1", "p1"}}, fault.Invalid, []string{"twice"}},
		{"too many NICs", CreateRequest{Ports: []string{"p1"}, Networks: nine}, fault.Invalid, []string{"at most 8"}},
		{"unknown network", CreateRequest{Networks: []string{"nope"}}, fault.Invalid, []string{"nope"}},
		{"groups without a made port", CreateRequest{Ports: []string{"p1"}, SecurityGroups: []string{"web"}}, fault.Invalid, []string{"security groups"}},
	} {
		c.r.Name = "x"
		_, err := e.createWith(c.r)
		if fault.KindOf(err) != c.kind {
			t.Errorf("%s: %v (kind %q), want %s", c.what, err, fault.KindOf(err), c.kind)
			continue
		}
		for _, w := range c.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %q", c.what, err, w)
			}
		}
	}
	if p := nets.port(taken); p.device != "other-instance" {
		t.Errorf("a refused create changed the taken port: %+v", p)
	}
	// A second instance asking for a port the first one got: refused, whether the first has bound it
	// yet (the port is in use) or is still being built (the claim is in the catalog).
	if _, err := e.createWith(CreateRequest{Name: "a", Ports: []string{"p2"}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.createWith(CreateRequest{Name: "b", Ports: []string{"p2"}})
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second instance on the same port: %v, want a conflict", err)
	}
}

// A failed spawn leaves the instance in error without NICs: the given port is free again, the made one
// gone. A start makes them again; a port someone took meanwhile stops the start and stays theirs.
func TestFailedSpawnReleasesItsPorts(t *testing.T) {
	e, nets := newNetEnv(t)
	given := nets.addPort("given", "lan")
	e.hv.mu.Lock()
	e.hv.failStart = errors.New("qemu: no such binary")
	e.hv.mu.Unlock()
	inst, err := e.createWith(CreateRequest{Name: "web", Ports: []string{"given"}, Networks: []string{"lan"}})
	if err != nil {
		t.Fatal(err)
	}
	failed := e.waitFor(inst.ID, VMError, PowerNoState)
	if failed.PortIDs != nil || failed.Addresses != nil || nets.port(given).device != "" || nets.count() != 1 {
		t.Errorf("after a failed spawn: port_ids %v, addresses %v, given port %+v, %d ports; want none bound, only the given one left",
			failed.PortIDs, failed.Addresses, nets.port(given), nets.count())
	}

	e.hv.mu.Lock()
	e.hv.failStart = nil
	e.hv.mu.Unlock()
	e.act(inst.ID, ActStart)
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if len(got.PortIDs) != 2 || got.PortIDs[0] != given || nets.port(given).device != inst.ID || len(e.macs()) != 2 {
		t.Fatalf("start after a failed spawn: port_ids %v, given port %+v, NICs %v; want the NICs made again",
			got.PortIDs, nets.port(given), e.macs())
	}

	// Once more, but someone takes the port while the instance is in error.
	e.hv.mu.Lock()
	e.hv.failStart = errors.New("qemu: no such binary")
	e.hv.mu.Unlock()
	second, err := e.createWith(CreateRequest{Name: "db", Ports: []string{nets.addPort("other", "lan")}, Networks: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(second.ID, VMError, PowerNoState)
	nets.bind(second.Ports[0], "thief")
	e.hv.mu.Lock()
	e.hv.failStart = nil
	e.hv.mu.Unlock()
	e.act(second.ID, ActStart)
	stopped := e.waitFor(second.ID, VMStopped, PowerShutdown)
	if !strings.Contains(stopped.Fault, "in use by instance thief") {
		t.Errorf("start with a taken port: fault %q", stopped.Fault)
	}
	e.deleteAndWait(second.ID)
	if p := nets.port(second.Ports[0]); p.device != "thief" {
		t.Errorf("deleting the instance unbound a port it no longer had: %+v", p)
	}
}

// Without networks and ports an instance gets a NIC on the project's network "default"; an explicit
// empty list means none, and so does a project without a network "default".
func TestDefaultNIC(t *testing.T) {
	e, nets := newNetEnv(t)
	implicit, err := e.createWith(CreateRequest{Name: "implicit"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"default"}, implicit.Networks); diff != "" {
		t.Errorf("networks of an instance asking for none (-want +got):\n%s", diff)
	}
	got := e.waitFor(implicit.ID, VMActive, PowerRunning)
	if len(got.Addresses) != 1 || got.Addresses[0].Network != "default" || len(e.macs()) != 1 {
		t.Errorf("addresses %+v, NICs %v: want one on default", got.Addresses, e.macs())
	}
	none, err := e.createWith(CreateRequest{Name: "none", Networks: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	got = e.waitFor(none.ID, VMActive, PowerRunning)
	if len(got.Networks) != 0 || len(got.Addresses) != 0 || len(e.macs()) != 0 {
		t.Errorf("networks: []: networks %v, addresses %+v, NICs %v; want none", got.Networks, got.Addresses, e.macs())
	}
	onlyPort, err := e.createWith(CreateRequest{Name: "only-port", Ports: []string{nets.addPort("mine", "lan")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.waitFor(onlyPort.ID, VMActive, PowerRunning); len(got.Networks) != 0 || len(got.PortIDs) != 1 {
		t.Errorf("ports without networks: networks %v, port_ids %v; want only the given port", got.Networks, got.PortIDs)
	}
	inst, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: "p2", Name: "elsewhere", Flavor: "m1.tiny", Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	if len(inst.Networks) != 0 {
		t.Errorf("a project without network default got networks %v", inst.Networks)
	}
}

// With vhost-net offered, each NIC gets a vhost fd of its own after its tap; without it (or when opening
// fails) QEMU moves the packets itself.
func TestNICsUseVhostWhenOffered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		vhost func() (*os.File, error)
		want  bool
	}{
		{"offered", func() (*os.File, error) { return os.Open(os.DevNull) }, true},
		{"not offered", nil, false},
		{"failing", func() (*os.File, error) { return nil, os.ErrNotExist }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nets := newFakeNetworks()
			nets.addNetwork(testProject, "lan")
			e := newEnv(t, func(o *Options) { o.Networks, o.Vhost = nets, tc.vhost })
			inst, err := e.createWith(CreateRequest{Name: "web", Networks: []string{"lan", "lan"}})
			if err != nil {
				t.Fatal(err)
			}
			e.waitFor(inst.ID, VMActive, PowerRunning)
			e.hv.mu.Lock()
			nics := e.hv.starts[len(e.hv.starts)-1].NICs
			e.hv.mu.Unlock()
			fds := map[int]bool{}
			for _, n := range nics {
				if (n.VhostFD != 0) != tc.want || (tc.want && n.VhostFD != n.TapFD+1) {
					t.Errorf("nic %s: tap fd %d, vhost fd %d; want vhost=%v right after its tap", n.Name, n.TapFD, n.VhostFD, tc.want)
				}
				for _, fd := range []int{n.TapFD, n.VhostFD} {
					if fd != 0 && fds[fd] {
						t.Errorf("fd %d given twice", fd)
					}
					fds[fd] = true
				}
			}
		})
	}
}
