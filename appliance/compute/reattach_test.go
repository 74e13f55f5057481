package compute

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloudlet/store"
)

func TestRestartReattachesWithoutTouchingTheGuest(t *testing.T) {
	e := newEnv(t, nil)
	a := e.running("a")
	b := e.running("b")
	e.act(b.ID, ActPause)
	e.waitFor(b.ID, VMPaused, PowerPaused)
	e.svc.Close() // the daemon goes away; QEMUs keep running
	before := map[string][]string{a.ID: e.hv.proc(a.ID).srv.Commands(), b.ID: e.hv.proc(b.ID).srv.Commands()}

	e.start()
	for id, old := range before { // wait until the new supervisors have looked
		deadline := time.Now().Add(5 * time.Second)
		for len(e.hv.proc(id).srv.Commands()) <= len(old) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	gotA := e.waitFor(a.ID, VMActive, PowerRunning)
	e.waitFor(b.ID, VMPaused, PowerPaused)
	if gotA.PID != a.PID || e.hv.startCount() != 2 {
		t.Errorf("pid %d (was %d), %d starts: want the same process, no new start", gotA.PID, a.PID, e.hv.startCount())
	}
	for id, old := range before {
		cmds := e.hv.proc(id).srv.Commands()[len(old):]
		for _, c := range cmds {
			if !slices.Contains([]string{"qmp_capabilities", "set-action", "query-status"}, c) {
				t.Errorf("instance %s: reattach sent %q; it must only look", id, c)
			}
		}
	}
}

func TestQEMUThatDiedWhileTheDaemonWasDownIsMarkedCrashed(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	stopped := e.running("b")
	e.act(stopped.ID, ActStop)
	e.waitFor(stopped.ID, VMStopped, PowerShutdown)
	e.svc.Close()
	e.hv.proc(inst.ID).die("signal: killed")

	e.start()
	got := e.waitFor(inst.ID, VMStopped, PowerCrashed)
	if got.Fault == "" || got.PID != 0 {
		t.Errorf("fault %q pid %d", got.Fault, got.PID)
	}
	e.waitFor(stopped.ID, VMStopped, PowerShutdown)
}

func TestAutostartBringsInstancesBackInOrder(t *testing.T) {
	e := newEnv(t, nil)
	var ids []string
	for _, name := range []string{"third", "first", "second", "manual"} {
		order := map[string]int{"first": 1, "second": 2, "third": 3}[name]
		inst, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: name,
			Flavor: "m1.tiny", Image: "img", Autostart: name != "manual", AutostartOrder: order})
		if err != nil {
			t.Fatal(err)
		}
		e.waitFor(inst.ID, VMActive, PowerRunning)
		ids = append(ids, inst.ID)
	}
	e.svc.Close()
	for _, id := range ids { // the host reboots: every QEMU is gone
		e.hv.proc(id).die("signal: killed")
	}
	startsBefore := e.hv.startCount()

	e.start()
	waitStarts(t, e.hv, startsBefore+3)
	for _, id := range ids[:3] {
		e.waitFor(id, VMActive, PowerRunning)
	}
	e.waitFor(ids[3], VMStopped, PowerCrashed)
	e.hv.mu.Lock()
	var order []string
	for _, spec := range e.hv.starts[startsBefore:] {
		order = append(order, spec.UUID)
	}
	e.hv.mu.Unlock()
	want := []string{ids[1], ids[2], ids[0]}
	if !slices.Equal(order, want) {
		t.Errorf("autostart order %v, want %v", order, want)
	}
}

func TestOrphanQEMUOfADeletedInstanceIsReaped(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	p := e.hv.proc(inst.ID)
	e.svc.Close()
	// The record vanishes while the daemon is down (e.g. a restore of an older catalog backup).
	if err := e.db.Update(func(tx *store.Tx) error { return instances.Delete(tx, inst.ID) }); err != nil {
		t.Fatal(err)
	}
	e.start()
	waitClosed(t, p.exited)
}

func waitClosed(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}

func TestCreateInterruptedByADaemonCrashEndsInErrorWithoutLeftovers(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	e.svc.Close()
	e.hv.proc(inst.ID).die("signal: killed")
	// As if the daemon died mid-create: the record says spawning, a half-written disk lies around.
	if _, err := e.svc.update(inst.ID, func(i *Instance) error {
		i.VMState, i.TaskState, i.PowerState = VMBuilding, TaskSpawning, PowerNoState
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(e.svc.stateDir(inst.ID), "nvram.fd.tmp")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start()
	got := e.waitFor(inst.ID, VMError, PowerNoState)
	if !strings.Contains(got.Fault, "interrupted") {
		t.Errorf("fault %q", got.Fault)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("half-written disk left: %v", err)
	}
}

func TestDeleteInterruptedByADaemonCrashFinishesAndKillsItsQEMU(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	p := e.hv.proc(inst.ID)
	e.svc.Close()
	// The daemon died in the middle of a delete, before QEMU was gone.
	if _, err := e.svc.update(inst.ID, func(i *Instance) error { i.TaskState = TaskDeleting; return nil }); err != nil {
		t.Fatal(err)
	}
	e.start()
	waitClosed(t, p.exited)
	waitGoneUnit(t, e, inst.ID)
}

// A half-written file a killed daemon left in the state dir goes at the next start also when the
// instance's QEMU still runs (not only when it is gone).
func TestRestartRemovesHalfWrittenFilesOfARunningInstance(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	e.svc.Close()
	tmp := filepath.Join(e.svc.stateDir(inst.ID), "nvram.fd.tmp")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("half-written file left: %v", err)
	}
}
