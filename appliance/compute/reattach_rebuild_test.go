package compute

import (
	"testing"

	"cloudlet/store"
)

// Found by the crash-cycle harness: a daemon killed during a rebuild, after the new QEMU was exec'd
// (paused, -S) and before its cont, came back with the instance paused/paused and no task: the rebuild
// was never finished. The restart completes it, as it completes an interrupted spawn or start.
func TestRestartCompletesARebuildKilledBeforeItsGuestRan(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	e.svc.Close() // the daemon dies between the rebuild's exec and its cont
	e.hv.proc(inst.ID).srv.SetStatus("prelaunch")
	setTask(t, e, inst.ID, TaskRebuilding)

	e.start()
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if got.PID != inst.PID || e.hv.proc(inst.ID).srv.Status() != "running" {
		t.Errorf("pid %d (was %d), QEMU %s: want the rebuilt QEMU adopted and running", got.PID, inst.PID,
			e.hv.proc(inst.ID).srv.Status())
	}
}

// Found by the crash-cycle harness: a hard-stop pre-empted a start after its QEMU was exec'd (-S,
// prelaunch) and the daemon died before the stop ended it; the restart forgot the stop and showed the
// instance paused on a QEMU that never ran its guest. A stop cut short by a restart is finished: the
// QEMU is ended and the instance is stopped. A running guest gets its power button again.
func TestRestartFinishesAStopTheDaemonDiedIn(t *testing.T) {
	for _, status := range []string{"prelaunch", "running"} {
		t.Run(status, func(t *testing.T) {
			e := newEnv(t, nil)
			inst := e.running("a")
			e.svc.Close() // the daemon dies while stopping
			e.hv.proc(inst.ID).srv.SetStatus(status)
			setTask(t, e, inst.ID, TaskPoweringOff)

			e.start()
			e.waitFor(inst.ID, VMStopped, PowerShutdown)
			if p := e.hv.proc(inst.ID); !p.killed && p.srv.Status() != "shutdown" && p.srv.Status() != "" {
				t.Errorf("QEMU %s, killed %v: want it ended", p.srv.Status(), p.killed)
			}
		})
	}
}

// Found by the crash-cycle harness: a restart found the QEMU of a resume the daemon died in (its start
// not yet recorded, so the record named no pid) and that QEMU, busy restoring on a loaded machine, did not
// answer: the instance went to error with the QEMU running and named by no record. The record names the
// QEMU it keeps, and a hard-stop ends it.
func TestAnUnansweringQEMUFoundAtRestartIsNamedByTheRecord(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	e.svc.Close() // the daemon dies during a resume, before it recorded the new QEMU
	p := e.hv.proc(inst.ID)
	p.srv.Hang(true)
	setTask(t, e, inst.ID, TaskNone)
	if err := e.db.Update(func(tx *store.Tx) error {
		rec, err := instances.Get(tx, inst.ID)
		if err != nil {
			return err
		}
		rec.PID, rec.PIDStartTime = 0, 0
		return instances.Update(tx, rec)
	}); err != nil {
		t.Fatal(err)
	}

	e.start()
	got := e.waitFor(inst.ID, VMError, PowerNoState)
	if got.PID != p.pid {
		t.Errorf("record names pid %d, want the kept QEMU's %d", got.PID, p.pid)
	}
	e.act(inst.ID, ActHardStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if !p.killed {
		t.Error("hard stop did not kill the QEMU")
	}
}
