package compute

import (
	"strings"
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

// Found by the crash-cycle harness (a fresh-clone run): a hard-stop pre-empted a pause whose stop QEMU
// had already done; the pre-empted pause then wrote active/running with no task over the hard-stop's
// powering-off, and a daemon killed before the hard-stop ran came back with the stop forgotten and the
// record saying running over a paused QEMU. A pre-empted command (running or still queued) writes
// nothing: from the hard-stop's acceptance to its end the record stays powering-off.
func TestAPreemptedCommandDoesNotWriteOverThePreemptingTask(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	e.hv.proc(inst.ID).srv.Hang(true) // the pause's stop gets no answer: it is still running when pre-empted
	e.act(inst.ID, ActPause)
	e.act(inst.ID, ActHardStop)
	accepted := len(e.events(inst.ID)) // the hard-stop's powering-off is the last event written in Act
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	evs := e.events(inst.ID)
	for _, ev := range evs[accepted:] {
		if strings.HasPrefix(ev, "instance.state") && !strings.Contains(ev, `"vm_state":"stopped"`) {
			t.Errorf("after the hard-stop was accepted the record went to %s, want powering-off until stopped", ev)
		}
	}
}
