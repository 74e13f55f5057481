package compute

import (
	"context"
	"fmt"
	"os"
	"time"

	"cloudlet/appliance/qemu/qmp"
)

// A suspend cut short by a daemon restart is settled at reattach on the side of its commit point, the
// rename of suspend.state.tmp to suspend.state once the migration has completed and the file is synced
// (libvirt marks a save image complete the same way: its header says "partial" until then).
//
//   - Before the commit point the saved state may be incomplete, so the suspend is rolled back, as
//     libvirt's recovery of an interrupted save does (qemuProcessRecoverJob: migrate_cancel, then cont if
//     the save had paused a running guest): the half-written file goes, the vcpus run again if the guest
//     was running, and the states follow QEMU. Nothing of the guest is lost.
//   - After it the state is complete: the suspend is finished (QEMU, whose disks the completed migration
//     has released, is stopped) and the instance is suspended.
//
// A QEMU that is gone is settled by noProcess the same way: suspended with a complete file, else
// stopped with the reason and the half-written file removed.

// suspendInterruptedFault is the fault of an instance whose QEMU died while a suspend was cut short.
const suspendInterruptedFault = "a suspend was interrupted by a daemon restart and QEMU was gone: the guest's memory was not saved"

// settleSuspend ends, on a live QEMU, a suspend the previous daemon was killed in.
func (sv *supervisor) settleSuspend(ctx context.Context, inst *Instance, st qmp.Status) {
	if fileExists(sv.s.statePath(sv.id)) {
		sv.s.log.Info("finishing a suspend interrupted after its state was saved", "instance", sv.id)
		sv.expectExit = true
		if sv.terminate(ctx) {
			sv.markSuspended()
		}
		return
	}
	sv.s.log.Info("rolling back a suspend interrupted before its state was saved", "instance", sv.id)
	if err := sv.cancelMigration(ctx); err != nil {
		sv.s.log.Warn("cancel the interrupted suspend's migration", "instance", sv.id, "err", err)
	}
	if err := os.Remove(sv.s.statePath(sv.id) + ".tmp"); err != nil && !os.IsNotExist(err) {
		sv.s.log.Warn("remove half-written saved state", "instance", sv.id, "err", err)
	}
	if inst.VMState == VMActive {
		if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Cont(c) }); err != nil {
			sv.s.log.Warn("resume the vcpus an interrupted suspend paused", "instance", sv.id, "err", err)
		}
	}
	if err := sv.qmpCall(ctx, func(c context.Context) (err error) { st, err = sv.mon.QueryStatus(c); return err }); err != nil {
		sv.clearTask()
		sv.unresponsive(err)
		return
	}
	sv.adopt(ctx, inst, st)
}

// cancelMigration cancels the outgoing migration and waits until QEMU has ended it: a cont sent while it
// is still being cancelled would be undone by its end, which puts the vcpus back as they were before it.
func (sv *supervisor) cancelMigration(ctx context.Context) error {
	if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.MigrateCancel(c) }); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var info qmp.MigrationInfo
		err := sv.qmpCall(ctx, func(c context.Context) (err error) { info, err = sv.mon.QueryMigrate(c); return err })
		if err != nil {
			return err
		}
		switch info.Status {
		case "", "none", "completed", "failed", "cancelled":
			return nil
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("wait for the cancelled migration to end: %w", errTimeout)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
