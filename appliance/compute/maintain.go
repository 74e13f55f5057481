package compute

import (
	"context"
	"fmt"
	"time"

	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// rebuild gives the instance a fresh boot volume from its image (or another one). A running instance
// is stopped first and booted again afterwards; a stopped one stays stopped. Instances that boot from a
// volume the user gave are refused in Act: that volume is the user's data.
func (sv *supervisor) rebuild(ctx context.Context, img *BootImage) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	wasRunning := sv.proc != nil
	if wasRunning {
		sv.expectExit = true
		if !sv.terminate(ctx) {
			return
		}
	}
	if img != nil { // a disk image (Act refuses an ISO): the new boot volume is made from it
		inst.ImageID, inst.Boot, inst.BlankBoot = img.ID, bootSpec(*img), false
	}
	if err := sv.replaceBootVolume(ctx, inst); err != nil {
		sv.fail(VMError, PowerShutdown, fmt.Errorf("rebuild: %w", err))
		return
	}
	rebuilt, err := sv.s.updateRetrying(sv.id, false, func(i *Instance) error {
		i.ImageID, i.Boot, i.BootVolumeID, i.BlankBoot = inst.ImageID, inst.Boot, inst.BootVolumeID, inst.BlankBoot
		for k := range i.CDROMs { // the rebuilt disk boots first
			i.CDROMs[k].Boot = i.CDROMs[k].Boot && i.BlankBoot
		}
		t := transition{VM: VMStopped, Power: PowerShutdown}
		if wasRunning { // the boot below ends the task
			t.Task = i.TaskState
		}
		t.apply(i)
		return nil
	})
	if err != nil {
		sv.fail(VMError, PowerShutdown, fmt.Errorf("rebuild: record the new boot volume: %w", err))
		return
	}
	if !wasRunning {
		return
	}
	if err := sv.boot(ctx, rebuilt, time.Now(), nil); err != nil {
		sv.fail(VMStopped, PowerShutdown, fmt.Errorf("rebuild: %w", err))
	}
}

// replaceBootVolume deletes the old boot volume and makes a new one from inst's image. The record
// follows each step, so a failure or a crash between them never leaves it naming a deleted volume, nor
// a volume named by no one: it moves the old one to ReplacedBootVolumeID before the detach and the
// delete (whatever a crash cuts short there, the next rebuild or the delete finishes), and names the
// new one once made.
func (sv *supervisor) replaceBootVolume(ctx context.Context, inst *Instance) error {
	if err := sv.s.prepareState(inst); err != nil {
		return err
	}
	if err := sv.adoptStrayBoot(ctx, inst); err != nil {
		return err
	}
	if err := sv.dropReplacedBoot(ctx, inst); err != nil { // an earlier rebuild's, cut short
		return err
	}
	if old := inst.BootVolumeID; old != "" {
		if err := sv.checkOldBoot(ctx, inst, old); err != nil {
			return err
		}
		if err := sv.recordBootVolumes(inst, "", old); err != nil {
			return err
		}
		if err := sv.dropReplacedBoot(ctx, inst); err != nil {
			return err
		}
	}
	id, err := sv.s.makeBootVolume(ctx, inst)
	if err != nil {
		return err
	}
	return sv.recordBootVolumes(inst, id, "")
}

// adoptStrayBoot names as replaced a boot volume attached to the instance that its record does not
// name: an earlier rebuild made it and was cut short before it recorded it. The rebuild then deletes
// it like the old one, so the instance never ends up with two boot volumes.
func (sv *supervisor) adoptStrayBoot(ctx context.Context, inst *Instance) error {
	if inst.ReplacedBootVolumeID != "" {
		return nil
	}
	vols, err := sv.s.volumesOf(ctx, inst.ID)
	if err != nil {
		return err
	}
	for _, v := range vols {
		if v.Boot && v.ID != inst.BootVolumeID {
			sv.s.log.Info("rebuild replaces a boot volume an interrupted rebuild made", "instance", inst.ID, "volume", v.ID)
			return sv.recordBootVolumes(inst, inst.BootVolumeID, v.ID)
		}
	}
	return nil
}

// dropReplacedBoot detaches and deletes (or keeps, with its reason) the boot volume a rebuild
// replaced, then forgets it. An old volume already gone is no error.
func (sv *supervisor) dropReplacedBoot(ctx context.Context, inst *Instance) error {
	old := inst.ReplacedBootVolumeID
	if old == "" {
		return nil
	}
	v, err := sv.s.o.Volumes.Get(ctx, inst.ProjectID, old)
	if fault.KindOf(err) == fault.NotFound {
		return sv.recordBootVolumes(inst, inst.BootVolumeID, "")
	} else if err != nil {
		return err
	}
	if v.InstanceID != "" { // not yet detached (a crash after the detach leaves it available)
		if err := sv.s.o.Volumes.Detached(ctx, old); err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
	}
	crashpoint.Hit(crashpoint.RebuildOldDetached)
	if err := sv.dropOldBoot(ctx, inst, old); err != nil {
		return err
	}
	return sv.recordBootVolumes(inst, inst.BootVolumeID, "")
}

// checkOldBoot refuses the rebuild, before anything is touched, when the old boot volume's delete
// would be refused for something other than what depends on it (a task running on it): the rebuild
// forgets and detaches it first, and a refused delete then left it detached, named by no one.
func (sv *supervisor) checkOldBoot(ctx context.Context, inst *Instance, old string) error {
	if sv.s.o.VolumeCheck == nil {
		return nil
	}
	if _, err := sv.s.o.VolumeCheck.CheckDelete(ctx, inst.ProjectID, old); err != nil && fault.KindOf(err) != fault.NotFound {
		return fmt.Errorf("its boot volume cannot be replaced now: %w", err)
	}
	return nil
}

// dropOldBoot deletes the boot volume a rebuild replaces. One that snapshots (or volumes based on
// them) depend on is kept, as a delete keeps it: detached, available, with its snapshots, and an
// instance.volume_kept event saying why (its delete was refused: the rebuild failed and left it
// detached with no trace of why).
func (sv *supervisor) dropOldBoot(ctx context.Context, inst *Instance, old string) error {
	err := sv.s.o.Volumes.Delete(ctx, inst.ProjectID, old)
	if err == nil || fault.KindOf(err) == fault.NotFound {
		return nil
	}
	if sv.s.o.VolumeCheck != nil {
		if why, cerr := sv.s.o.VolumeCheck.CheckDelete(ctx, inst.ProjectID, old); cerr == nil && why != "" {
			v, gerr := sv.s.o.Volumes.Get(ctx, inst.ProjectID, old)
			if gerr != nil {
				v = Volume{ID: old, Name: old}
			}
			v.Boot = true
			sv.s.keep(inst, v, why)
			return nil
		}
	}
	return err
}

// recordBootVolumes names the instance's boot volume and the one being replaced, in inst and in its
// record, in one write.
func (sv *supervisor) recordBootVolumes(inst *Instance, boot, replaced string) error {
	inst.BootVolumeID, inst.ReplacedBootVolumeID = boot, replaced
	_, err := sv.s.update(sv.id, func(i *Instance) error {
		i.BootVolumeID, i.ReplacedBootVolumeID = boot, replaced
		return nil
	})
	return err
}

// resize changes a stopped instance's flavor, growing its boot volume when the new flavor's disk is larger.
func (sv *supervisor) resize(ctx context.Context, f *Flavor) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	if err := checkResize(inst, f); err != nil {
		sv.fail(VMStopped, inst.PowerState, err)
		return
	}
	if f.DiskGiB > inst.Flavor.DiskGiB && inst.BootVolumeID != "" {
		if err := sv.s.o.Volumes.Extend(ctx, inst.ProjectID, inst.BootVolumeID, f.DiskGiB); err != nil {
			sv.fail(VMStopped, inst.PowerState, fmt.Errorf("resize: grow the boot volume: %w", err))
			return
		}
	}
	sv.save("record flavor "+f.Name, func(i *Instance) error {
		i.Flavor = *f
		i.Flavor.Meta = store.Meta{ID: f.ID, Name: f.Name}
		transition{VM: i.VMState, Power: i.PowerState}.apply(i) // the task ends, and any fault
		return nil
	})
}
