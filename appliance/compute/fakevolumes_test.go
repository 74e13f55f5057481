package compute

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"

	"cloudlet/appliance/fault"
)

// fakeVolumes is an in-memory volume service with real qcow2 files (overlays on the test image).
type fakeVolumes struct {
	dir, base string

	mu      sync.Mutex // guards the fields below
	vols    map[string]*Volume
	bootRes map[string]bool // boot volumes made by CreateBoot, still only reserved
	next    int
	asked   []BootVolumeRequest // every CreateBoot, in order
}

func newFakeVolumes(dir, base string) *fakeVolumes {
	return &fakeVolumes{dir: dir, base: base, vols: map[string]*Volume{}, bootRes: map[string]bool{}}
}

func (f *fakeVolumes) CreateBoot(_ context.Context, r BootVolumeRequest) (Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.asked = append(f.asked, r)
	id := fmt.Sprintf("vol-%04d", f.next)
	path := filepath.Join(f.dir, id+".qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", f.base, path).CombinedOutput(); err != nil {
		return Volume{}, fmt.Errorf("qemu-img: %v: %s", err, out)
	}
	v := &Volume{ID: id, Name: r.Name, ProjectID: r.ProjectID, Path: path, Format: "qcow2", InstanceID: r.InstanceID}
	f.vols[id] = v
	f.bootRes[id] = true
	return *v, nil
}

// add makes an available data volume.
func (f *fakeVolumes) add(name string) Volume {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := fmt.Sprintf("vol-%04d", f.next)
	path := filepath.Join(f.dir, id+".qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", path, "64M").CombinedOutput(); err != nil {
		panic(fmt.Sprintf("qemu-img: %v: %s", err, out))
	}
	v := &Volume{ID: id, Name: name, ProjectID: testProject, Path: path, Format: "qcow2"}
	f.vols[id] = v
	return *v
}

func (f *fakeVolumes) find(ref string) (*Volume, error) {
	for _, v := range f.vols {
		if v.ID == ref || v.Name == ref {
			return v, nil
		}
	}
	return nil, fault.New(fault.NotFound, "volume %s not found", ref)
}

func (f *fakeVolumes) Reserve(_ context.Context, _, ref, instanceID string) (Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.find(ref)
	if err != nil {
		return Volume{}, err
	}
	if v.InstanceID != "" {
		return Volume{}, fault.New(fault.Conflict, "volume %s is in use by %s", v.Name, v.InstanceID)
	}
	v.InstanceID = instanceID
	return *v, nil
}

func (f *fakeVolumes) Attached(_ context.Context, id, port string, boot, dot bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.find(id)
	if err != nil {
		return err
	}
	v.Port, v.Boot, v.DeleteOnTermination = port, boot, dot
	delete(f.bootRes, id)
	return nil
}

func (f *fakeVolumes) Detached(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.find(id)
	if err != nil {
		return err
	}
	if v.InstanceID == "" { // as the volume service: only a volume attached or reserved can be detached
		return fault.New(fault.Conflict, "cannot mark detached volume %s: it is available", v.Name)
	}
	v.InstanceID, v.Port, v.Boot = "", "", false
	delete(f.bootRes, v.ID)
	return nil
}

func (f *fakeVolumes) AttachedTo(_ context.Context, instanceID string) ([]Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Volume
	for _, v := range f.vols {
		if v.InstanceID == instanceID && (v.Boot || v.Port != "") {
			out = append(out, *v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Boot || (!out[j].Boot && out[i].Port < out[j].Port) })
	return out, nil
}

func (f *fakeVolumes) Reservations(_ context.Context, instanceID string) ([]Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Volume
	for _, v := range f.vols {
		if v.InstanceID != "" && !v.Boot && v.Port == "" && (instanceID == "" || v.InstanceID == instanceID) {
			r := *v
			r.Boot = f.bootRes[v.ID]
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeVolumes) Get(_ context.Context, _, ref string) (Volume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.find(ref)
	if err != nil {
		return Volume{}, err
	}
	return *v, nil
}

func (f *fakeVolumes) Extend(_ context.Context, _, id string, sizeGiB int) error {
	f.mu.Lock()
	v, err := f.find(id)
	f.mu.Unlock()
	if err != nil {
		return err
	}
	out, err := exec.Command("qemu-img", "resize", "-q", "-f", "qcow2", v.Path, fmt.Sprintf("%dG", sizeGiB)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img resize: %v: %s", err, out)
	}
	return nil
}

func (f *fakeVolumes) Delete(_ context.Context, _, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, err := f.find(id)
	if err != nil {
		return err
	}
	delete(f.vols, v.ID)
	return os.Remove(v.Path)
}

// count returns how many volumes exist.
func (f *fakeVolumes) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.vols)
}
