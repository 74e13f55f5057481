package compute

import (
	"encoding/json"
	"os"
	"slices"
	"sync"
	"testing"

	"cloudlet/appliance/qemu/qmp/qmptest"
	"cloudlet/store"
)

// Found by the crash-cycle harness: a daemon killed in a soft reboot after the guest had shut down
// (QEMU told to pause on shutdown, the guest off, not reset yet) came back with the instance
// paused/paused, its QEMU in "shutdown" still set to pause on the next power-off. The restart
// restores the shutdown action and finishes the reboot.
func TestRestartFinishesASoftRebootKilledAfterTheGuestShutDown(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	srv := e.hv.proc(inst.ID).srv
	var mu sync.Mutex
	var actions []string
	srv.Handle("set-action", func(args json.RawMessage) (any, *qmptest.Error) {
		mu.Lock()
		defer mu.Unlock()
		actions = append(actions, string(args))
		return nil, nil
	})
	e.svc.Close() // the daemon dies: the guest had shut down for the reboot, QEMU paused it
	srv.SetStatus("shutdown")
	setTask(t, e, inst.ID, TaskRebooting)

	e.start()
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if got := srv.Status(); got != "running" {
		t.Errorf("QEMU is %s after the restart, want running", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(actions, restoresPoweroff) {
		t.Errorf("set-action calls %v: want the shutdown action restored to poweroff", actions)
	}
}

// setTask writes a task into the instance's record, as a daemon that died during that task left it.
func setTask(t *testing.T, e *env, id string, task TaskState) {
	t.Helper()
	err := e.db.Update(func(tx *store.Tx) error {
		rec, err := instances.Get(tx, id)
		if err != nil {
			return err
		}
		rec.TaskState = task
		return instances.Update(tx, rec)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// restoresPoweroff reports whether set-action arguments set QEMU's shutdown action back to poweroff.
func restoresPoweroff(args string) bool {
	var a map[string]string
	return json.Unmarshal([]byte(args), &a) == nil && a["shutdown"] == "poweroff"
}

// Found by make soak CYCLES=1000 (seed 1796606523735637355, cycle 449): a daemon killed in a reboot
// after its system_reset and before its cont came back with the instance paused/paused and QEMU in
// prelaunch (QEMU enters prelaunch when a guest that is not running is reset: a soft reboot's guest had
// shut down, a hard reboot's was paused), so the user had to unpause a reboot. The restart sends the
// cont the reboot did not.
func TestRestartFinishesARebootKilledBetweenItsResetAndItsCont(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	srv := e.hv.proc(inst.ID).srv
	e.svc.Close() // the daemon dies: the reboot had reset the guest, not yet run it
	srv.SetStatus("prelaunch")
	setTask(t, e, inst.ID, TaskRebooting)

	e.start()
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if st := srv.Status(); st != "running" {
		t.Errorf("QEMU is %s after the restart, want running", st)
	}
	if got.TaskState != TaskNone {
		t.Errorf("task %q after the restart, want none", got.TaskState)
	}
}

// A stop the daemon died in, whose guest was powering off: the restart finds the QEMU (its pidfile and
// process are still there) but not its monitor, which QEMU removed on its way out, and the QEMU exits
// a moment later. The stop is finished (stopped, shut down, no fault), not taken for an unresponsive
// QEMU (error) and then a crash (found by make soak CYCLES=1000, seed 1796616497403683761, cycle 260).
func TestRestartFinishesAStopWhoseQEMUExitsAsTheDaemonReattaches(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	proc := e.hv.proc(inst.ID)
	e.svc.Close() // the daemon dies: the stop had pressed the power button
	setTask(t, e, inst.ID, TaskPoweringOff)
	e.hv.mu.Lock()
	e.hv.onDial = func(socket string) error { // QEMU exiting: its monitor socket gone, then the process
		os.Remove(socket)
		proc.die("exit status 0")
		return nil
	}
	e.hv.mu.Unlock()

	e.start()
	got := e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if got.TaskState != TaskNone || got.Fault != "" || got.PID != 0 {
		t.Errorf("after the restart: task %q, fault %q, pid %d; want no task, no fault, no pid", got.TaskState, got.Fault, got.PID)
	}
}
