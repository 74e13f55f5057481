package compute

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// interruptResume leaves the instance as a daemon killed mid-resume (at compute.resume-exec) does:
// recorded suspended with task resuming, its saved state in suspend.state, and its QEMU (started with
// -incoming) still loading that state: the first query-status says inmigrate, the next ones paused.
func interruptResume(t *testing.T, e *env, inst *Instance) *fakeProc {
	t.Helper()
	e.svc.Close()
	if _, err := e.svc.update(inst.ID, func(i *Instance) error {
		i.VMState, i.PowerState, i.TaskState = VMSuspended, PowerSuspended, TaskResuming
		i.PID, i.PIDStartTime = 0, 0 // recorded with the resume's commit, which the kill came before
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.svc.statePath(inst.ID), []byte("guest RAM"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := e.hv.proc(inst.ID)
	p.srv.SetStatus("inmigrate")
	p.srv.Handle("query-status", func(json.RawMessage) (any, *qmptest.Error) {
		status := p.srv.Status()
		if status == "inmigrate" {
			p.srv.SetStatus("paused") // the restore ends after the query that saw it loading
		}
		return map[string]any{"status": status, "running": status == "running"}, nil
	})
	return p
}

// A resume cut short by a restart while QEMU was still restoring the saved state is finished on that
// QEMU once the restore has completed: cont, the saved state removed, the instance active/running;
// the same QEMU, never a new one.
func TestResumeCutShortWhileRestoringIsFinishedOnTheSameQEMU(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := interruptResume(t, e, inst)
	before := len(p.srv.Commands())

	e.start()
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if got.PID != inst.PID || e.hv.startCount() != 1 || got.Fault != "" {
		t.Errorf("pid %d (was %d), %d starts, fault %q: want the same QEMU and no fault", got.PID, inst.PID, e.hv.startCount(), got.Fault)
	}
	cmds := p.srv.Commands()[before:]
	if i, j := slices.Index(cmds, "query-migrate"), slices.Index(cmds, "cont"); i < 0 || j < i {
		t.Errorf("commands %v: want the migration's outcome read, then cont", cmds)
	}
	if p.srv.Status() != "running" {
		t.Errorf("QEMU status %s, want running", p.srv.Status())
	}
	if _, err := os.Stat(e.svc.statePath(inst.ID)); !os.IsNotExist(err) {
		t.Errorf("saved state left after the resume was finished: %v", err)
	}
}

// A resume cut short by a restart whose QEMU does not answer its monitor at the reattach (QEMU may serve
// its monitor only once the saved state is loaded; the load takes long on a loaded host) keeps its task
// and is finished on that QEMU once it answers — not left in error over a live QEMU (make soak
// CYCLES=1000, seed 1796617791838661936, cycle 219).
func TestResumeCutShortWhoseQEMUAnswersOnlyAfterTheReattachIsFinished(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := interruptResume(t, e, inst)
	silent := 2 // dials that time out: the reattach's and the first health check's
	e.hv.mu.Lock()
	e.hv.onDial = func(string) error {
		e.hv.mu.Lock()
		defer e.hv.mu.Unlock()
		if silent == 0 {
			return nil
		}
		silent--
		return fmt.Errorf("qmp dial: %w", context.DeadlineExceeded)
	}
	e.hv.mu.Unlock()

	e.start()
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if got.PID != inst.PID || e.hv.startCount() != 1 || got.Fault != "" || got.TaskState != TaskNone {
		t.Errorf("pid %d (was %d), %d starts, fault %q, task %q: want the same QEMU, no fault, no task",
			got.PID, inst.PID, e.hv.startCount(), got.Fault, got.TaskState)
	}
	if p.srv.Status() != "running" {
		t.Errorf("QEMU status %s, want running", p.srv.Status())
	}
	if _, err := os.Stat(e.svc.statePath(inst.ID)); !os.IsNotExist(err) {
		t.Errorf("saved state left after the resume was finished: %v", err)
	}
}

// A resume cut short by a restart whose restore failed ends that QEMU and leaves the instance
// suspended with its saved state and a fault saying why; resume, tried again, restores the guest. With
// its QEMU gone (a QEMU whose restore fails exits), the instance is suspended as well.
func TestResumeCutShortWhoseRestoreFailedStaysSuspendedAndResumesAgain(t *testing.T) {
	for _, tt := range []struct {
		name   string
		break_ func(p *fakeProc)
		fault  string
	}{
		{"restore failed", func(p *fakeProc) {
			p.srv.Handle("query-migrate", func(json.RawMessage) (any, *qmptest.Error) {
				return map[string]any{"status": "failed", "error-desc": "load of migration failed"}, nil
			})
		}, "load of migration failed"},
		{"QEMU gone", func(p *fakeProc) { p.die("exit status 1") }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			inst := e.running("web")
			p := interruptResume(t, e, inst)
			tt.break_(p)

			e.start()
			got := e.waitFor(inst.ID, VMSuspended, PowerSuspended)
			waitClosed(t, p.exited)
			if got.PID != 0 || !strings.Contains(got.Fault, tt.fault) || tt.fault != "" && !strings.Contains(got.Fault, "resume it again") {
				t.Errorf("pid %d fault %q: want no process and the failed restore named (%q)", got.PID, got.Fault, tt.fault)
			}
			if _, err := os.Stat(e.svc.statePath(inst.ID)); err != nil {
				t.Fatalf("saved state: %v", err)
			}
			e.hv.onStart = func(p *fakeProc, spec qemu.Spec) {
				if spec.IncomingFD > 0 {
					p.srv.SetStatus("paused") // the saved state is loaded
				}
			}
			e.act(inst.ID, ActResume)
			if got := e.waitFor(inst.ID, VMActive, PowerRunning); got.Fault != "" {
				t.Errorf("resumed with fault %q", got.Fault)
			}
		})
	}
}
