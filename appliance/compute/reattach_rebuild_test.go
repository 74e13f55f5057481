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
