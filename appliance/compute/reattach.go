package compute

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"cloudlet/appliance/qemu/qmp"
)

// reattach runs once when the daemon starts: it finds the instance's QEMU (pidfile, then the UUID in
// /proc/<pid>/cmdline), reconnects QMP and rebuilds the states from what QEMU says, changing nothing in
// the guest. A QEMU that died while the daemon was down leaves the instance stopped/crashed.
func (sv *supervisor) reattach(ctx context.Context) {
	inst, ok := sv.current()
	if !ok {
		sv.deleted = true
		return
	}
	proc, err := sv.s.hv.attach(sv.paths(), sv.id)
	if inst.TaskState == TaskDeleting { // finish the delete, with the QEMU it may have left running
		if err == nil {
			sv.proc = proc
		} else {
			sv.killStray()
		}
		sv.delete(ctx)
		return
	}
	if err != nil {
		sv.noProcess(ctx, inst)
		return
	}
	sv.proc = proc
	sv.s.log.Info("reattached instance", "instance", sv.id, "pid", proc.PID())
	sv.startSerial() // the console socket does not need QMP: a QEMU whose monitor hangs still has it
	dctx, cancel := context.WithTimeout(ctx, sv.s.o.QMPTimeout)
	mon, err := sv.s.hv.dial(dctx, sv.paths().QMP)
	cancel()
	if err != nil {
		sv.monitorLost(ctx, inst, err)
		return
	}
	sv.mon = mon
	if err := sv.setActions(ctx); err != nil {
		sv.s.log.Warn("set QEMU's actions", "instance", sv.id, "err", err)
	}
	var st qmp.Status
	if err := sv.qmpCall(ctx, func(c context.Context) (err error) { st, err = mon.QueryStatus(c); return err }); err != nil {
		sv.monitorLost(ctx, inst, err)
		return
	}
	switch inst.TaskState {
	case TaskSuspending:
		sv.settleSuspend(ctx, inst, st)
	case TaskResuming:
		sv.settleResume(ctx, inst)
	default:
		sv.adopt(ctx, inst, st)
	}
	sv.afterReattach()
}

// afterReattach ends a reattach that found the QEMU's monitor: leftovers go, the guest's channels open.
func (sv *supervisor) afterReattach() {
	sv.s.removeTemps(sv.id) // nothing writes them now: any left is a killed daemon's
	if sv.proc != nil {
		sv.startAgentPoll()
		sv.startReadyPort()
	}
}

// adopt takes over a live QEMU. A stop the daemon died in is finished (the user asked for it; the
// guest gets its power button again, or, if it was not running, its QEMU is ended). One still in
// prelaunch was being started (spawn, start or rebuild) when the daemon died, or reset by a reboot
// (QEMU enters prelaunch when a guest that is not running is reset: a soft reboot's guest had shut down,
// a hard reboot's was paused) that had not sent cont yet: the start or reboot is completed. Otherwise the
// states follow QEMU.
func (sv *supervisor) adopt(ctx context.Context, inst *Instance, st qmp.Status) {
	if needsReset(st.Status) {
		sv.settleDead(ctx, inst.TaskState, st.Status)
		return
	}
	if inst.TaskState == TaskPoweringOff {
		sv.s.log.Info("finishing a stop interrupted by a daemon restart", "instance", sv.id)
		sv.stop(ctx, st.Status != "running")
		return
	}
	if st.Status == "prelaunch" && slices.Contains(finishedByCont, inst.TaskState) {
		if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Cont(c) }); err == nil {
			st = qmp.Status{Status: "running", Running: true}
		}
	}
	sv.clearTask()
	if inst.PID != sv.proc.PID() {
		pid, start := sv.proc.PID(), sv.proc.StartTime()
		sv.save("record pid", func(i *Instance) error {
			i.PID, i.PIDStartTime = pid, start
			return nil
		})
	}
	sv.fromStatus(ctx, st)
}

// monitorLost settles a QEMU found at reattach whose monitor does not answer. One on its way out (QEMU
// removes its sockets as it exits: the guest powering off for a stop the previous daemon asked for) is
// given one QMP timeout to exit and then settles as a QEMU found gone. One loading an interrupted
// resume's saved state may answer only once the load is done: it keeps its task, and the health check
// retries it (retryRestore). Any other that stays is unresponsive.
func (sv *supervisor) monitorLost(ctx context.Context, inst *Instance, err error) {
	if sv.waitExit(ctx, sv.s.o.QMPTimeout) {
		sv.s.log.Info("QEMU exited as the daemon reattached", "instance", sv.id, "monitor", err.Error())
		sv.afterExit()
		sv.noProcess(ctx, inst)
		return
	}
	if inst.TaskState == TaskResuming && !ctxDone(err) {
		sv.s.log.Info("the QEMU of an interrupted resume does not answer yet: retried while it restores", "instance", sv.id, "err", err)
		sv.closeMonitor()
		sv.restoring = time.Now().Add(restoreBound)
		return
	}
	sv.clearTask()
	sv.unresponsive(err)
}

// finishedByCont are the tasks whose QEMU, found in prelaunch at reattach, only waits for cont.
var finishedByCont = []TaskState{TaskSpawning, TaskPoweringOn, TaskRebuilding, TaskRebooting}

// clearTask ends a task the previous daemon left in flight.
func (sv *supervisor) clearTask() {
	sv.save("end the task", func(i *Instance) error {
		transition{VM: i.VMState, Power: i.PowerState, Fault: i.Fault}.apply(i)
		return nil
	})
}

// noProcess records that the instance has no QEMU at daemon start. A QEMU the previous daemon had just
// exec'd before it died (no pidfile yet) is found by its -uuid and killed first: that start never
// finished, and its sockets are about to be removed. An interrupted spawn releases its NICs, as a failed
// one does.
func (sv *supervisor) noProcess(ctx context.Context, inst *Instance) {
	sv.killStray()
	sv.cleanupRun()
	sv.s.removeTemps(inst.ID)
	if inst.TaskState == TaskSpawning {
		if err := sv.s.forgetNICs(ctx, inst); err != nil {
			sv.s.log.Warn("release the ports of an interrupted spawn", "instance", sv.id, "err", err)
		}
	}
	switch {
	case inst.TaskState == TaskSpawning || inst.TaskState == TaskRebuilding:
		sv.set(transition{VM: VMError, Power: PowerNoState,
			Fault: fmt.Sprintf("%s was interrupted by a daemon restart: rebuild or delete the instance", inst.TaskState)})
	case inst.VMState == VMSuspended:
		sv.set(transition{VM: VMSuspended, Power: PowerSuspended, Fault: inst.Fault})
	case inst.TaskState == TaskSuspending && fileExists(sv.s.statePath(sv.id)): // past its commit point
		sv.markSuspended()
	case inst.TaskState == TaskSuspending:
		sv.setStopped(PowerCrashed, suspendInterruptedFault)
	case inst.VMState == VMStopped && inst.TaskState == TaskNone:
	case inst.VMState == VMStopped, inst.TaskState == TaskPoweringOff:
		sv.setStopped(PowerShutdown, "")
	case inst.VMState == VMError && inst.PID == 0:
		sv.clearTask()
	default:
		sv.setStopped(PowerCrashed, fmt.Sprintf("QEMU (pid %d) was gone when the daemon started", inst.PID))
	}
}

// removeTemps deletes half-written files (*.tmp) a killed daemon left in the instance's state dir.
func (s *Service) removeTemps(id string) {
	tmps, _ := filepath.Glob(filepath.Join(s.stateDir(id), "*.tmp"))
	for _, tmp := range tmps {
		if err := os.Remove(tmp); err != nil {
			s.log.Warn("remove half-written file", "instance", id, "path", tmp, "err", err)
		}
	}
}

// killStray kills QEMUs of this instance that have no pidfile (an interrupted start).
func (sv *supervisor) killStray() {
	found, err := sv.s.hv.scan(sv.s.o.RunDir)
	if err != nil {
		sv.s.log.Warn("scan for QEMU processes", "instance", sv.id, "err", err)
		return
	}
	for _, f := range found {
		if f.UUID != sv.id {
			continue
		}
		sv.s.log.Warn("killing a QEMU whose start was interrupted", "instance", sv.id, "pid", f.PID)
		if err := sv.s.hv.killFound(f); err != nil {
			sv.s.log.Warn("kill interrupted QEMU", "instance", sv.id, "pid", f.PID, "err", err)
		}
	}
}
