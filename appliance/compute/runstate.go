package compute

import (
	"context"
	"fmt"

	"cloudlet/appliance/qemu/qmp"
)

// qemuActions are what cloudlet wants QEMU to do on guest events (QMP set-action): reset on a guest
// reboot, exit on a guest power-off (the exit is then a stop), shut down on a guest panic (argv sets
// the same with -action). A soft reboot switches shutdown to pause while it waits for the guest; a
// daemon killed then never switched it back, so reattach sets them all on every QEMU it adopts.
var qemuActions = map[string]string{"reboot": "reset", "shutdown": "poweroff", "panic": "shutdown"}

// setActions gives QEMU cloudlet's actions.
func (sv *supervisor) setActions(ctx context.Context) error {
	return sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Execute(c, "set-action", qemuActions, nil) })
}

// QEMU's run states (qapi/run-state.json) fall in three groups:
//
//   - running: the vcpus run (query-status says running). Shown active/running.
//   - stopped, and cont resumes them: paused, io-error (cont retries the failed request), debug, watchdog,
//     prelaunch, inmigrate, postmigrate, finish-migrate, save-vm, restore-vm, colo. Shown paused, and
//     unpause works; io-error with a fault that says why. A guest asleep in S3 ("suspended": cont does
//     nothing, the guest wakes itself) is shown active/running: it chose to sleep.
//   - dead until a reset: shutdown and internal-error, where QEMU refuses cont ("Resetting the Virtual
//     Machine is required", runstate_needs_reset), and guest-panicked, whose kernel is dead. Shown
//     paused, as before, the instance could never leave that state: unpause was refused for ever.
//
// A dead QEMU is settled as Nova settles an active instance whose hypervisor reports it shut down or
// crashed (its power-state sync stops the instance): QEMU is ended, the instance is stopped with the
// reason, and start boots it afresh. The one exception is a soft reboot cut short after the guest shut
// down (task rebooting, QEMU in shutdown): the reboot is finished with system_reset and cont, as Nova
// retries an interrupted reboot when its compute service starts.

// needsReset reports whether QEMU can do nothing in this run state until it is reset.
func needsReset(status string) bool {
	switch status {
	case "shutdown", "internal-error", "guest-panicked":
		return true
	}
	return false
}

// shownAs is what cloudlet shows for a QEMU in a run state that is not dead, with a fault for io-error.
func shownAs(st qmp.Status) (VMState, PowerState, string) {
	switch {
	case st.Running, st.Status == "suspended":
		return VMActive, PowerRunning, ""
	case st.Status == "io-error":
		return VMPaused, PowerPaused, "QEMU paused the guest after a disk I/O error (a full or failing disk): " +
			"free space on the host, then unpause to retry the request"
	}
	return VMPaused, PowerPaused, ""
}

// settleDead ends a QEMU that needs a reset (see above); task is the one in flight when it was found.
func (sv *supervisor) settleDead(ctx context.Context, task TaskState, status string) {
	if status == "shutdown" && task == TaskRebooting {
		err := sv.finishReboot(ctx)
		if err == nil {
			sv.s.log.Info("finished a soft reboot cut short after the guest shut down", "instance", sv.id)
			sv.set(transition{VM: VMActive, Power: PowerRunning})
			return
		}
		sv.s.log.Warn("finish an interrupted soft reboot", "instance", sv.id, "err", err)
	}
	sv.s.log.Warn("QEMU cannot resume the guest without a reset: ending it", "instance", sv.id, "run_state", status)
	sv.expectExit = true
	if !sv.terminate(ctx) {
		return // the fault is recorded
	}
	switch status {
	case "shutdown":
		sv.setStopped(PowerShutdown, "")
	case "guest-panicked":
		sv.crashed("the guest kernel panicked")
	default:
		sv.crashed(fmt.Sprintf("QEMU stopped the guest on an error it cannot resume from (run state %s)", status))
	}
}

// finishReboot resets the guest and runs its vcpus again.
func (sv *supervisor) finishReboot(ctx context.Context) error {
	if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.SystemReset(c) }); err != nil {
		return err
	}
	return sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Cont(c) })
}
