package compute

import "testing"

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
