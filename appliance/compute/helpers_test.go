package compute

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

const testProject = "p1"

type env struct {
	t    *testing.T
	db   *store.DB
	hv   *fakeHV
	vols *fakeVolumes
	svc  *Service
	o    Options
}

// newEnv builds a compute service over a real catalog, a real qcow2 base image and a fake hypervisor.
func newEnv(t *testing.T, tweak func(*Options)) *env {
	t.Helper()
	dir := t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	base := filepath.Join(dir, "base.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", base, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	// Unix socket paths must stay under 108 bytes: the run dir gets a short name of its own.
	runDir, err := os.MkdirTemp("", "cl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) })
	e := &env{t: t, db: db, hv: newFakeHV(t), vols: newFakeVolumes(t.TempDir(), base)}
	e.o = Options{
		DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RunDir: runDir, StateDir: filepath.Join(dir, "state"),
		Images: func(_ context.Context, _, ref string) (BootImage, error) {
			if ref != "img" {
				return BootImage{}, fault.New(fault.NotFound, "image %s not found", ref)
			}
			return BootImage{ID: "img-id", Disk: base, DiskFormat: "qcow2", VirtualSize: 64 << 20}, nil
		},
		StopTimeout: 500 * time.Millisecond, QMPTimeout: 300 * time.Millisecond,
		HealthInterval: 100 * time.Millisecond, ReconcileInterval: 100 * time.Millisecond,
		Volumes: e.vols,
		hv:      e.hv,
	}
	if tweak != nil {
		tweak(&e.o)
	}
	e.start()
	return e
}

// start (re)creates the service over the same catalog and hypervisor, as a daemon restart does.
func (e *env) start() {
	e.t.Helper()
	svc, err := New(e.o)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
	e.t.Cleanup(func() { svc.Close() })
}

func (e *env) create(name string) *Instance {
	e.t.Helper()
	inst, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: name, Flavor: "m1.tiny", Image: "img"})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	return inst
}

func (e *env) act(id string, a Action) {
	e.t.Helper()
	if _, err := e.svc.Act(context.Background(), testProject, id, a, ActionArgs{}); err != nil {
		e.t.Fatalf("%s: %v", a, err)
	}
}

// waitFor polls the catalog until the instance has the wanted vm/power state and no task.
func (e *env) waitFor(id string, vm VMState, power PowerState) *Instance {
	e.t.Helper()
	var inst *Instance
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		inst, err = e.svc.Get(context.Background(), testProject, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if inst.VMState == vm && inst.PowerState == power && inst.TaskState == TaskNone {
			return inst
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("instance %s: want %s/%s, have vm=%s task=%q power=%s fault=%q", id, vm, power,
		inst.VMState, inst.TaskState, inst.PowerState, inst.Fault)
	return nil
}

// running creates an instance and waits until it runs.
func (e *env) running(name string) *Instance {
	e.t.Helper()
	inst := e.create(name)
	return e.waitFor(inst.ID, VMActive, PowerRunning)
}

// events returns the types of the catalog's events about id, in order.
func (e *env) events(id string) []string {
	e.t.Helper()
	evs, err := e.db.EventsSince(0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.ID == id {
			out = append(out, fmt.Sprintf("%s %s", ev.Type, ev.Data))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

func sleepMs(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }
