package compute

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// delete frees everything the instance has, once checkDelete has found nothing that would stop it half
// way and decided which of its volumes are kept: its QEMU (quit, then SIGKILL after the identity
// check), runtime dir, ports (the ones it was given are unbound and stay), volumes, state dir (root
// disk, console log, saved state) and finally its record.
func (sv *supervisor) delete(ctx context.Context) {
	sv.deleting = true
	defer func() { sv.deleting = false }()
	var kept keptVolumes
	if inst, ok := sv.current(); ok { // Act checked it too; a snapshot or a task may have begun since
		var err error
		if kept, err = sv.s.checkDeleteWaiting(ctx, inst); err != nil {
			if ctx.Err() == nil { // a daemon that stops leaves it deleting: its next start finishes it
				sv.fail(inst.VMState, inst.PowerState, err) // as it was, with the reason
			}
			return
		}
	}
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
	if err := sv.releaseVolumes(ctx, kept); err != nil {
		if ctx.Err() == nil { // a daemon that stops while it waits for a volume's task: its next start finishes it
			sv.fail(VMError, PowerNoState, fmt.Errorf("delete: %w", err))
		}
		return
	}
	if inst, ok := sv.current(); ok { // a rebuild cut short left its old boot volume to finish
		if err := sv.dropReplacedBoot(ctx, inst); err != nil {
			sv.fail(VMError, PowerNoState, fmt.Errorf("delete: the boot volume a rebuild replaced: %w", err))
			return
		}
	}
	if err := os.RemoveAll(sv.s.stateDir(sv.id)); err != nil {
		sv.fail(VMError, PowerNoState, fmt.Errorf("delete: remove state dir: %w", err))
		return
	}
	err := retrying(func() error { return sv.s.db.Update(sv.removeRecord) })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		sv.s.log.Error("delete instance record; the next daemon start finishes the delete", "instance", sv.id, "err", err)
		return
	}
	sv.deleted = true
}

// removeRecord deletes the instance's record and appends instance.deleted, in tx.
func (sv *supervisor) removeRecord(tx *store.Tx) error {
	inst, err := instances.Get(tx, sv.id)
	if err != nil {
		return err
	}
	if err := instances.Delete(tx, sv.id); err != nil {
		return err
	}
	if err := dropSecrets(tx, sv.id); err != nil {
		return err
	}
	return appendEvent(tx, "instance.deleted", "instance", inst.ID, inst.ProjectID,
		stateEvent{VMState: VMDeleted, PowerState: PowerNoState})
}

// releaseVolumes detaches every volume of the instance and gives back every volume reserved for it (a
// boot volume not attached yet, an attach a crash cut short), deleting those marked
// delete_on_termination and the boot volume made from an image, except the kept ones; the others
// become available again.
//
// The volumes it deletes are first written into the record (VolumesToDelete): a detach and the delete
// after it are two steps, and a crash between them would leave the volume detached and named by no one.
// The delete's next run (at the daemon's start) deletes the ones the record still names.
func (sv *supervisor) releaseVolumes(ctx context.Context, kept keptVolumes) error {
	inst, ok := sv.current()
	if !ok {
		return nil
	}
	vols, err := sv.s.volumesOf(ctx, sv.id)
	if err != nil {
		return err
	}
	if err := sv.recordVolumesToDelete(inst, vols, kept); err != nil {
		return err
	}
	for _, v := range vols {
		why, keep := kept[v.ID]
		if keep {
			sv.s.keep(inst, v, why) // before the detach: a crash after it would leave no trace of why
		}
		if err := sv.s.o.Volumes.Detached(ctx, v.ID); err != nil {
			return fmt.Errorf("detach volume %s: %w", v.Name, err)
		}
		if deletedWith(inst, v) && !keep {
			crashpoint.Hit(crashpoint.DeleteVolumeDetached)
			if err := sv.deleteVolume(ctx, inst, v); err != nil {
				return err
			}
		}
	}
	return sv.deleteDetachedLeftovers(ctx, inst, vols)
}

// recordVolumesToDelete adds to the record's VolumesToDelete the volumes of vols the delete deletes.
func (sv *supervisor) recordVolumesToDelete(inst *Instance, vols []Volume, kept keptVolumes) error {
	ids := slices.Clone(inst.VolumesToDelete)
	for _, v := range vols {
		if _, keep := kept[v.ID]; deletedWith(inst, v) && !keep && !slices.Contains(ids, v.ID) {
			ids = append(ids, v.ID)
		}
	}
	if slices.Equal(ids, inst.VolumesToDelete) {
		return nil
	}
	inst.VolumesToDelete = ids
	_, err := sv.s.update(sv.id, func(i *Instance) error { i.VolumesToDelete = ids; return nil })
	return err
}

// deleteDetachedLeftovers deletes the volumes the record names for deletion that are no longer the
// instance's (an earlier run of this delete detached them and was cut short); gone ones are done.
func (sv *supervisor) deleteDetachedLeftovers(ctx context.Context, inst *Instance, vols []Volume) error {
	for _, id := range inst.VolumesToDelete {
		if slices.ContainsFunc(vols, func(v Volume) bool { return v.ID == id }) {
			continue
		}
		v, err := sv.s.o.Volumes.Get(ctx, inst.ProjectID, id)
		if fault.KindOf(err) == fault.NotFound {
			continue
		} else if err != nil {
			return err
		}
		if v.InstanceID != "" && v.InstanceID != inst.ID { // available meanwhile, and attached elsewhere since
			sv.s.keep(inst, v, fmt.Sprintf("it was attached to instance %s after this delete detached it", v.InstanceID))
			continue
		}
		if err := sv.deleteVolume(ctx, inst, v); err != nil {
			return err
		}
	}
	return nil
}

// deleteVolume deletes a volume that goes with the instance; one a snapshot was taken of since
// checkDelete (its delete refused for what now depends on it) is kept like the ones checkDelete kept.
// A task begun on it since (a snapshot of a volume detached by an earlier run of this delete, available
// until this one) is waited out as checkDeleteWaiting does, and the delete tried again.
func (sv *supervisor) deleteVolume(ctx context.Context, inst *Instance, v Volume) error {
	var delErr error
	err := sv.s.waitOutVolumeTask(ctx, inst, func() error {
		if delErr = sv.s.o.Volumes.Delete(ctx, inst.ProjectID, v.ID); delErr == nil || sv.s.o.VolumeCheck == nil {
			return nil
		}
		why, cerr := sv.s.o.VolumeCheck.CheckDelete(ctx, inst.ProjectID, v.ID)
		if cerr == nil && why != "" {
			sv.s.keep(inst, v, why)
			delErr = nil
		}
		return cerr
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("delete volume %s: %w", v.Name, err)
	case delErr != nil:
		return fmt.Errorf("delete volume %s: %w", v.Name, delErr)
	}
	return nil
}
