package compute

import (
	"context"
	"fmt"
	"time"

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
	if img != nil {
		inst.ImageID, inst.Boot = img.ID, bootSpec(*img)
	}
	if err := sv.replaceBootVolume(ctx, inst); err != nil {
		sv.fail(VMError, PowerShutdown, fmt.Errorf("rebuild: %w", err))
		return
	}
	rebuilt, err := sv.s.updateRetrying(sv.id, false, func(i *Instance) error {
		i.ImageID, i.Boot, i.BootVolumeID = inst.ImageID, inst.Boot, inst.BootVolumeID
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

// replaceBootVolume deletes the old boot volume and makes a new one from inst's image.
func (sv *supervisor) replaceBootVolume(ctx context.Context, inst *Instance) error {
	if err := sv.s.prepareState(inst); err != nil {
		return err
	}
	if old := inst.BootVolumeID; old != "" {
		if err := sv.s.o.Volumes.Detached(ctx, old); err != nil {
			return err
		}
		if err := sv.s.o.Volumes.Delete(ctx, inst.ProjectID, old); err != nil {
			return err
		}
	}
	id, err := sv.s.makeBootVolume(ctx, inst)
	inst.BootVolumeID = id
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
