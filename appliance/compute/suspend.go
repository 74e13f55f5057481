package compute

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/qemu/qmp"
)

// statePath is where a suspended instance's memory and device state is saved.
func (s *Service) statePath(id string) string { return filepath.Join(s.stateDir(id), "suspend.state") }

// suspend saves the guest's state to disk through a migration to a file descriptor, then QEMU exits.
// The sandbox forbids exec: migration, so the file is opened here and passed with getfd. The state is
// written to suspend.state.tmp and renamed to suspend.state once the migration has completed and the
// file is synced: the rename is the commit point that reattach reads (see settleSuspend).
func (sv *supervisor) suspend(ctx context.Context) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	prevVM, prevPower := inst.VMState, inst.PowerState
	final := sv.s.statePath(sv.id)
	tmp := final + ".tmp"
	err := removeStale(final) // a resume killed before it removed its state file left it: it is not this suspend's
	if err == nil {
		err = sv.saveState(ctx, tmp)
	}
	if err == nil {
		crashpoint.Hit(crashpoint.SuspendSaved)
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		if prevVM == VMActive && sv.mon != nil { // undo the pause, also when ctx ended
			sv.qmpCall(context.Background(), func(c context.Context) error { return sv.mon.Cont(c) })
		}
		sv.fail(prevVM, prevPower, fmt.Errorf("suspend: %w", err))
		return
	}
	crashpoint.Hit(crashpoint.SuspendCommitted)
	sv.expectExit = true
	if !sv.terminate(ctx) {
		os.Remove(final)
		return
	}
	sv.markSuspended()
}

// removeStale removes a saved state an earlier resume left, so that only this suspend's own rename
// commits it (reattach takes a suspend.state for the commit point of the suspend in flight).
func removeStale(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove an earlier saved state: %w", err)
	}
	return nil
}

// markSuspended records a suspend whose state is saved and whose QEMU is gone.
func (sv *supervisor) markSuspended() {
	sv.set(transition{VM: VMSuspended, Power: PowerSuspended})
}

// saveState pauses the vcpus and migrates the VM into path, waiting until the migration completes.
func (sv *supervisor) saveState(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	steps := []func(context.Context) error{
		func(c context.Context) error { return sv.mon.Stop(c) },
		func(c context.Context) error { return sv.mon.GetFD(c, "suspend", f) },
		func(c context.Context) error { return sv.mon.Migrate(c, "fd:suspend") },
	}
	for _, step := range steps {
		if err := sv.qmpCall(ctx, step); err != nil {
			return err
		}
	}
	if err := sv.waitMigration(ctx); err != nil {
		return err
	}
	return f.Sync()
}

func (sv *supervisor) waitMigration(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var info qmp.MigrationInfo
		err := sv.qmpCall(ctx, func(c context.Context) (err error) { info, err = sv.mon.QueryMigrate(c); return err })
		switch {
		case err != nil:
			return err
		case info.Status == "completed":
			return nil
		case info.Status == "failed" || info.Status == "cancelled":
			return fmt.Errorf("save state: migration %s: %s", info.Status, info.ErrorDesc)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("save state: %w", errTimeout)
}

// resume boots QEMU from the saved state; the file is removed once the guest runs again.
func (sv *supervisor) resume(ctx context.Context, accepted time.Time) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	f, err := os.Open(sv.s.statePath(sv.id))
	if err != nil {
		sv.fail(VMSuspended, PowerSuspended, fmt.Errorf("resume: saved state: %w", err))
		return
	}
	err = sv.boot(ctx, inst, accepted, f)
	f.Close()
	if err != nil {
		sv.fail(VMSuspended, PowerSuspended, fmt.Errorf("resume: %w", err))
		return
	}
	if err := os.Remove(sv.s.statePath(sv.id)); err != nil {
		sv.s.log.Warn("remove saved state", "instance", sv.id, "err", err)
	}
}
