package compute

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"cloudlet/appliance/qemu/qmp/qmptest"
)

// interruptSuspend leaves the instance as a daemon killed mid-suspend does: task suspending, the vcpus
// stopped by the suspend (QEMU in status qemuStatus, if it still runs) and the saved state in file
// (suspend.state.tmp before the commit point, suspend.state after it).
func interruptSuspend(t *testing.T, e *env, inst *Instance, qemuStatus, file string) {
	t.Helper()
	e.svc.Close()
	if _, err := e.svc.update(inst.ID, func(i *Instance) error { i.TaskState = TaskSuspending; return nil }); err != nil {
		t.Fatal(err)
	}
	if p := e.hv.proc(inst.ID); qemuStatus != "" {
		p.srv.SetStatus(qemuStatus)
	} else {
		p.die("signal: killed")
	}
	if err := os.WriteFile(file, []byte("guest RAM"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Before its state file is complete a suspend cut short by a restart is rolled back on the live QEMU:
// the migration is cancelled, the half-written file removed, and the guest runs again if it was
// running (stays paused if it was paused); the same QEMU, never a new one.
func TestSuspendCutShortBeforeItsStateIsSavedIsRolledBack(t *testing.T) {
	for _, tt := range []struct {
		name      string
		vm        VMState
		power     PowerState
		qemuAfter string
	}{
		{"was running", VMActive, PowerRunning, "running"},
		{"was paused", VMPaused, PowerPaused, "paused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			inst := e.running("web")
			if tt.vm == VMPaused {
				e.act(inst.ID, ActPause)
				e.waitFor(inst.ID, VMPaused, PowerPaused)
			}
			p := e.hv.proc(inst.ID)
			tmp := e.svc.statePath(inst.ID) + ".tmp"
			interruptSuspend(t, e, inst, "paused", tmp)

			e.start()
			got := e.waitFor(inst.ID, tt.vm, tt.power)
			if got.PID != inst.PID || e.hv.startCount() != 1 {
				t.Errorf("pid %d (was %d), %d starts: want the same QEMU", got.PID, inst.PID, e.hv.startCount())
			}
			if status := p.srv.Status(); status != tt.qemuAfter {
				t.Errorf("QEMU status %s, want %s", status, tt.qemuAfter)
			}
			if !slices.Contains(p.srv.Commands(), "migrate_cancel") {
				t.Errorf("commands %v: want the migration cancelled", p.srv.Commands())
			}
			if _, err := os.Stat(tmp); !os.IsNotExist(err) {
				t.Errorf("half-written saved state left: %v", err)
			}
		})
	}
}

// Once the state file is complete (renamed to suspend.state), a suspend cut short by a restart is
// finished: its QEMU is stopped, the instance is suspended, and resume restores it.
func TestSuspendCutShortAfterItsStateIsSavedIsFinished(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	interruptSuspend(t, e, inst, "postmigrate", e.svc.statePath(inst.ID))

	e.start()
	got := e.waitFor(inst.ID, VMSuspended, PowerSuspended)
	waitClosed(t, p.exited)
	if got.PID != 0 || got.Fault != "" {
		t.Errorf("pid %d fault %q, want no process and no fault", got.PID, got.Fault)
	}
	if _, err := os.Stat(e.svc.statePath(inst.ID)); err != nil {
		t.Errorf("saved state: %v", err)
	}
}

// With its QEMU gone as well, the same commit point decides: suspended with a complete state file;
// stopped with the reason, and no half-written file, without one.
func TestSuspendCutShortWithItsQEMUGoneSettlesOnTheCommitPoint(t *testing.T) {
	t.Run("state saved", func(t *testing.T) {
		e := newEnv(t, nil)
		inst := e.running("web")
		interruptSuspend(t, e, inst, "", e.svc.statePath(inst.ID))
		e.start()
		e.waitFor(inst.ID, VMSuspended, PowerSuspended)
	})
	t.Run("state half-written", func(t *testing.T) {
		e := newEnv(t, nil)
		inst := e.running("web")
		tmp := e.svc.statePath(inst.ID) + ".tmp"
		interruptSuspend(t, e, inst, "", tmp)
		e.start()
		got := e.waitFor(inst.ID, VMStopped, PowerCrashed)
		if !strings.Contains(got.Fault, "suspend was interrupted") {
			t.Errorf("fault %q, want the interrupted suspend named", got.Fault)
		}
		if _, err := os.Stat(tmp); !os.IsNotExist(err) {
			t.Errorf("half-written saved state left: %v", err)
		}
	})
}

// A suspend writes its state under a temporary name and renames it only once the migration has
// completed: the final name is the commit point reattach relies on.
func TestSuspendRenamesItsStateBeforeQEMUQuits(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	var atQuit error
	p.srv.Handle("quit", func(json.RawMessage) (any, *qmptest.Error) {
		_, atQuit = os.Stat(e.svc.statePath(inst.ID))
		go p.die("exit status 0")
		return nil, nil
	})
	e.act(inst.ID, ActSuspend)
	e.waitFor(inst.ID, VMSuspended, PowerSuspended)
	if atQuit != nil {
		t.Errorf("state file when QEMU was told to quit: %v, want it complete under its final name", atQuit)
	}
}

// A suspend removes a saved state an earlier resume left (one killed after the guest ran again, before
// it removed the file) before it saves its own: reattach takes suspend.state for the commit point of the
// suspend in flight, and would otherwise suspend the guest onto the older memory.
func TestSuspendRemovesAnEarlierSavedStateBeforeItSavesItsOwn(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	if err := os.WriteFile(e.svc.statePath(inst.ID), []byte("older guest RAM"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := e.hv.proc(inst.ID)
	var atMigrate error
	p.srv.Handle("migrate", func(json.RawMessage) (any, *qmptest.Error) {
		_, atMigrate = os.Stat(e.svc.statePath(inst.ID))
		return nil, &qmptest.Error{Class: "GenericError", Desc: "disk full"}
	})
	e.act(inst.ID, ActSuspend)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if !os.IsNotExist(atMigrate) {
		t.Errorf("suspend.state while the suspend saved its state: %v, want the earlier one removed", atMigrate)
	}
}
