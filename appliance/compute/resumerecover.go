package compute

import (
	"context"
	"fmt"
	"os"
	"time"

	"cloudlet/appliance/qemu/qmp"
)

// A resume cut short by a daemon restart (task resuming) left a QEMU started with -incoming that may
// still be loading the saved state, its vcpus stopped: nothing has sent cont yet, or the cont came
// just before the kill. Reattach finishes it on the side of the restore's outcome:
//
//   - The restore completed (QEMU left inmigrate, query-migrate does not say failed): the resume is
//     finished as an uninterrupted one ends (the volumes' I/O limits, cont, suspend.state removed) and
//     the states follow QEMU: active/running.
//   - The restore failed or did not end within its bound (a QEMU whose incoming migration fails exits
//     by itself): QEMU is ended and the instance stays suspended, with its saved state and a fault
//     saying why, so resume can be tried again. Nothing of the guest is lost: the state file is only
//     removed once the guest runs from it.
//
// A QEMU that is gone at reattach is settled by noProcess: a suspended instance stays suspended.

// resumeInterruptedFault prefixes the fault of an interrupted resume whose restore did not complete.
const resumeInterruptedFault = "a resume was interrupted by a daemon restart and the saved state was not restored"

// settleResume ends, on a live QEMU, a resume the previous daemon was killed in.
func (sv *supervisor) settleResume(ctx context.Context, inst *Instance) {
	st, err := sv.finishRestore(ctx, inst)
	if err != nil {
		sv.abandonResume(ctx, err)
		return
	}
	sv.s.log.Info("finished a resume interrupted by a daemon restart", "instance", sv.id)
	if err := os.Remove(sv.s.statePath(sv.id)); err != nil && !os.IsNotExist(err) {
		sv.s.log.Warn("remove saved state", "instance", sv.id, "err", err)
	}
	sv.adopt(ctx, inst, st)
}

// finishRestore waits for QEMU's incoming migration to end, checks it completed and runs the vcpus;
// it returns QEMU's run state after the cont.
func (sv *supervisor) finishRestore(ctx context.Context, inst *Instance) (qmp.Status, error) {
	var st qmp.Status
	if err := sv.waitIncoming(ctx); err != nil {
		return st, err
	}
	var info qmp.MigrationInfo
	if err := sv.qmpCall(ctx, func(c context.Context) (err error) { info, err = sv.mon.QueryMigrate(c); return err }); err != nil {
		return st, fmt.Errorf("restore saved state: %w", err)
	}
	if info.Status == "failed" || info.Status == "cancelled" {
		return st, fmt.Errorf("restore saved state: migration %s: %s", info.Status, info.ErrorDesc)
	}
	if err := sv.qmpCall(ctx, func(c context.Context) (err error) { st, err = sv.mon.QueryStatus(c); return err }); err != nil {
		return st, fmt.Errorf("restore saved state: %w", err)
	}
	if st.Status == "prelaunch" || needsReset(st.Status) {
		return st, fmt.Errorf("restore saved state: QEMU is in %s, not the restored guest", st.Status)
	}
	vols, err := sv.volumes(ctx, inst)
	if err == nil {
		err = sv.applyQoS(ctx, vols)
	}
	if err != nil {
		return st, err
	}
	if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Cont(c) }); err != nil {
		return st, fmt.Errorf("start vcpus (cont): %w", err)
	}
	return st, sv.qmpCall(ctx, func(c context.Context) (err error) { st, err = sv.mon.QueryStatus(c); return err })
}

// abandonResume ends the QEMU of an interrupted resume whose restore failed or did not end in time; the
// instance stays suspended with its saved state and the reason.
func (sv *supervisor) abandonResume(ctx context.Context, err error) {
	sv.s.log.Warn("ending the QEMU of an interrupted resume", "instance", sv.id, "err", err)
	sv.expectExit = true
	if sv.terminate(ctx) {
		sv.set(transition{VM: VMSuspended, Power: PowerSuspended,
			Fault: fmt.Sprintf("%s (%v): resume it again", resumeInterruptedFault, err)})
	}
}

// retryRestore runs at each health check while the QEMU of an interrupted resume has not answered its
// monitor since the reattach (QEMU may serve its monitor only once the saved state is loaded). When it
// answers, the resume is settled as at reattach; past restoreBound it is abandoned.
func (sv *supervisor) retryRestore(ctx context.Context) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, sv.s.o.QMPTimeout)
	mon, err := sv.s.hv.dial(dctx, sv.paths().QMP)
	cancel()
	if err != nil {
		if time.Now().After(sv.restoring) {
			sv.restoring = time.Time{}
			sv.abandonResume(ctx, fmt.Errorf("restore saved state: QEMU did not answer within %s: %w", restoreBound, err))
		}
		return
	}
	sv.restoring, sv.mon = time.Time{}, mon
	if err := sv.setActions(ctx); err != nil {
		sv.s.log.Warn("set QEMU's actions", "instance", sv.id, "err", err)
	}
	sv.settleResume(ctx, inst)
	sv.afterReattach()
}
