package compute

import (
	"context"
	"fmt"
	"os"
	"slices"

	"cloudlet/appliance/crashpoint"
	"cloudlet/store"
)

// delete frees everything the instance has: its QEMU (quit, then SIGKILL after the identity check),
// runtime dir, ports (the ones it was given are unbound and stay), state dir (root disk, console log,
// saved state) and finally its record.
func (sv *supervisor) delete(ctx context.Context) {
	sv.deleting = true
	defer func() { sv.deleting = false }()
	if sv.proc != nil {
		sv.expectExit = true
		if !sv.terminate(ctx) {
			return
		}
	}
	sv.cleanupRun()
	crashpoint.Hit(crashpoint.DeleteStopped)
	if inst, ok := sv.current(); ok {
		if err := sv.s.releaseNICs(ctx, inst); err != nil {
			sv.fail(VMError, PowerNoState, fmt.Errorf("delete: %w", err))
			return
		}
	}
	crashpoint.Hit(crashpoint.DeletePortsFreed)
	if err := sv.releaseVolumes(ctx); err != nil {
		sv.fail(VMError, PowerNoState, fmt.Errorf("delete: %w", err))
		return
	}
	if err := os.RemoveAll(sv.s.stateDir(sv.id)); err != nil {
		sv.fail(VMError, PowerNoState, fmt.Errorf("delete: remove state dir: %w", err))
		return
	}
	err := sv.s.db.Update(func(tx *store.Tx) error {
		inst, err := instances.Get(tx, sv.id)
		if err != nil {
			return err
		}
		if err := instances.Delete(tx, sv.id); err != nil {
			return err
		}
		return appendEvent(tx, "instance.deleted", "instance", inst.ID, inst.ProjectID,
			stateEvent{VMDeleted, TaskNone, PowerNoState, ""})
	})
	if err != nil {
		sv.s.log.Error("delete instance record", "instance", sv.id, "err", err)
		return
	}
	sv.deleted = true
}

// releaseVolumes detaches every volume of the instance and gives back every volume reserved for it (a
// boot volume not attached yet, an attach a crash cut short), deleting those marked
// delete_on_termination and the boot volume made from an image; the others become available again.
func (sv *supervisor) releaseVolumes(ctx context.Context) error {
	inst, ok := sv.current()
	if !ok {
		return nil
	}
	vols, err := sv.s.o.Volumes.AttachedTo(ctx, sv.id)
	if err != nil {
		return err
	}
	reserved, err := sv.s.o.Volumes.Reservations(ctx, sv.id)
	if err != nil {
		return err
	}
	for _, v := range reserved {
		if !slices.ContainsFunc(vols, func(a Volume) bool { return a.ID == v.ID }) {
			vols = append(vols, v)
		}
	}
	for _, v := range vols {
		if err := sv.s.o.Volumes.Detached(ctx, v.ID); err != nil {
			return fmt.Errorf("detach volume %s: %w", v.Name, err)
		}
		if v.DeleteOnTermination || (v.Boot && !inst.BootFromVolume) {
			if err := sv.s.o.Volumes.Delete(ctx, inst.ProjectID, v.ID); err != nil {
				return fmt.Errorf("delete volume %s: %w", v.Name, err)
			}
		}
	}
	return nil
}
