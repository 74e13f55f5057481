package compute

import (
	"context"
	"fmt"
	"time"
)

// rebuild gives the instance a fresh root disk from its image (or another one). A running instance is
// stopped first and booted again afterwards; a stopped one stays stopped.
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
		inst.ImageID = img.ID
		inst.Boot = bootSpec(*img, inst.Boot.RootDisk)
	}
	if err := sv.s.makeOverlay(ctx, inst); err != nil {
		sv.fail(VMError, PowerShutdown, fmt.Errorf("rebuild: %w", err))
		return
	}
	rebuilt, err := sv.s.update(sv.id, func(i *Instance) error {
		i.ImageID, i.Boot = inst.ImageID, inst.Boot
		i.VMState, i.PowerState, i.Fault, i.PID, i.PIDStartTime = VMStopped, PowerShutdown, "", 0, 0
		if !wasRunning {
			i.TaskState = TaskNone
		}
		return nil
	})
	if err != nil || !wasRunning {
		return
	}
	if err := sv.boot(ctx, rebuilt, time.Now(), nil); err != nil {
		sv.fail(VMStopped, PowerShutdown, fmt.Errorf("rebuild: %w", err))
	}
}

// resize changes a stopped instance's flavor, growing its root disk when the new flavor's is larger.
func (sv *supervisor) resize(ctx context.Context, f *Flavor) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	if err := checkResize(inst, f); err != nil {
		sv.fail(VMStopped, inst.PowerState, err)
		return
	}
	inst.Flavor = *f
	if err := sv.s.growDisk(ctx, inst); err != nil {
		sv.fail(VMStopped, inst.PowerState, err)
		return
	}
	sv.s.update(sv.id, func(i *Instance) error {
		i.Flavor = *f
		i.TaskState, i.Fault = TaskNone, ""
		return nil
	})
}
