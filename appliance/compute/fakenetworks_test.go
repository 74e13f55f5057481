package compute

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"

	"cloudlet/appliance/fault"
)

// fakeNetworks is an in-memory network service: networks by project and name, ports with a binding.
// Its taps are /dev/null (the fake hypervisor never reads them).
type fakeNetworks struct {
	mu    sync.Mutex          // guards the fields below
	nets  map[string][]string // project → network names
	ports map[string]*fakePort
	next  int
}

type fakePort struct {
	NIC
	project, device string
}

func newFakeNetworks() *fakeNetworks {
	return &fakeNetworks{nets: map[string][]string{}, ports: map[string]*fakePort{}}
}

// addNetwork gives the project a network.
func (f *fakeNetworks) addNetwork(project, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nets[project] = append(f.nets[project], name)
}

// addPort makes a free port in the test project and returns its id.
func (f *fakeNetworks) addPort(name, network string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newPort(testProject, name, network, "").PortID
}

func (f *fakeNetworks) newPort(project, name, network, device string) *fakePort {
	f.next++
	p := &fakePort{NIC: NIC{PortID: fmt.Sprintf("port-%04d", f.next), Name: name, Network: network,
		MAC: fmt.Sprintf("fa:16:3e:00:00:%02x", f.next), IP: fmt.Sprintf("10.0.0.%d", f.next+1)},
		project: project, device: device}
	f.ports[p.PortID] = p
	return p
}

// port returns a copy of a port, or nil when it is gone.
func (f *fakeNetworks) port(id string) *fakePort {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.ports[id]; p != nil {
		c := *p
		return &c
	}
	return nil
}

// bind binds a port to a device behind compute's back (another instance took it).
func (f *fakeNetworks) bind(id, device string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ports[id].device = device
}

func (f *fakeNetworks) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ports)
}

func (f *fakeNetworks) lookup(project, ref string) (*fakePort, error) {
	for _, p := range f.ports {
		if p.project == project && (p.PortID == ref || p.Name == ref) {
			return p, nil
		}
	}
	return nil, fault.New(fault.NotFound, "port %s not found", ref)
}

func (f *fakeNetworks) CreatePort(_ context.Context, r PortRequest) (NIC, error) {
	projectID, network, instanceID, name := r.ProjectID, r.Network, r.InstanceID, r.Name
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.lookup(projectID, name); err == nil {
		return NIC{}, fault.New(fault.Conflict, "port name %s is taken", name)
	}
	return f.newPort(projectID, name, network, instanceID).NIC, nil
}

func (f *fakeNetworks) DeletePort(_ context.Context, projectID, portID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.lookup(projectID, portID)
	if err != nil {
		return err
	}
	delete(f.ports, p.PortID)
	return nil
}

func (f *fakeNetworks) CheckPort(_ context.Context, projectID, ref string) (NIC, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.lookup(projectID, ref)
	if err != nil {
		return NIC{}, err
	}
	if p.device != "" {
		return NIC{}, fault.New(fault.Conflict, "port %s is in use by instance %s", p.Name, p.device)
	}
	return p.NIC, nil
}

func (f *fakeNetworks) BindPort(_ context.Context, projectID, portID, instanceID, _ string) (NIC, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.lookup(projectID, portID)
	if err != nil {
		return NIC{}, err
	}
	if p.device != "" && p.device != instanceID {
		return NIC{}, fault.New(fault.Conflict, "port %s is in use by instance %s", p.Name, p.device)
	}
	p.device = instanceID
	return p.NIC, nil
}

func (f *fakeNetworks) UnbindPort(_ context.Context, portID, instanceID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.ports[portID]
	if p == nil {
		return fault.New(fault.NotFound, "port %s not found", portID)
	}
	if p.device == instanceID {
		p.device = ""
	}
	return nil
}

func (f *fakeNetworks) InstancePorts(_ context.Context, instanceID string) ([]NIC, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []NIC
	for _, p := range f.ports {
		if p.device == instanceID {
			out = append(out, p.NIC)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeNetworks) OpenTap(string) (*os.File, error) { return os.Open(os.DevNull) }

func (f *fakeNetworks) CheckNetwork(_ context.Context, projectID, network string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.nets[projectID] {
		if n == network {
			return nil
		}
	}
	return fault.New(fault.NotFound, "network %s not found", network)
}

func (f *fakeNetworks) CheckSecurityGroup(_ context.Context, _, group string) error {
	if group != "default" && group != "web" {
		return fault.New(fault.NotFound, "security group %s not found", group)
	}
	return nil
}
