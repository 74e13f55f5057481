package compute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/qemu"
)

// current reads the instance record; a supervisor whose record is gone stops.
func (sv *supervisor) current() (*Instance, bool) {
	inst, err := sv.s.Get(context.Background(), "", sv.id)
	if err != nil {
		sv.s.log.Warn("read instance", "instance", sv.id, "err", err)
		return nil, false
	}
	return inst, true
}

// fail ends the running task: the instance goes to vm (with its power state) and the fault is recorded.
func (sv *supervisor) fail(vm, power string, err error) {
	sv.s.log.Warn("instance task failed", "instance", sv.id, "vm_state", vm, "err", err)
	write := sv.s.update
	if sv.deleting { // a failed delete ends its task, so that the delete can be asked again
		write = sv.s.endDelete
	}
	_, uerr := write(sv.id, func(i *Instance) error {
		i.VMState, i.TaskState, i.PowerState, i.Fault = vm, TaskNone, power, err.Error()
		return nil
	})
	if uerr != nil {
		sv.s.log.Error("record instance fault", "instance", sv.id, "err", uerr)
	}
}

// spawn is the first boot: make the NICs and the root disk, then boot. On failure the NICs are
// released again (failSpawn).
func (sv *supervisor) spawn(ctx context.Context, accepted time.Time) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	if err := sv.s.prepareState(inst); err != nil {
		sv.failSpawn(ctx, inst, err)
		return
	}
	if err := sv.s.makePorts(ctx, inst); err != nil {
		sv.failSpawn(ctx, inst, err)
		return
	}
	if inst, ok = sv.current(); !ok {
		return
	}
	if !inst.BootFromVolume {
		id, err := sv.s.makeBootVolume(ctx, inst)
		if err != nil {
			sv.failSpawn(ctx, inst, err)
			return
		}
		if inst, err = sv.s.update(sv.id, func(i *Instance) error { i.BootVolumeID = id; return nil }); err != nil {
			sv.failSpawn(ctx, inst, err)
			return
		}
		crashpoint.Hit(crashpoint.BootDiskMade)
	} else if err := sv.s.o.Volumes.Attached(ctx, inst.BootVolumeID, "", true, false); err != nil {
		sv.failSpawn(ctx, inst, err)
		return
	}
	if err := sv.boot(ctx, inst, accepted, nil); err != nil {
		sv.failSpawn(ctx, inst, err)
	}
}

// failSpawn puts an instance whose first boot failed in error, without NICs: the ports it was given are
// free again and the ones made for it gone. A later start makes them anew.
func (sv *supervisor) failSpawn(ctx context.Context, inst *Instance, err error) {
	if inst == nil {
		inst, _ = sv.current()
	}
	if inst != nil {
		if rerr := sv.s.forgetNICs(ctx, inst); rerr != nil {
			err = errors.Join(err, fmt.Errorf("release its ports: %w", rerr))
		}
	}
	sv.fail(VMError, PowerNoState, err)
}

// start boots a stopped instance, first making its NICs again if a failed spawn released them.
func (sv *supervisor) start(ctx context.Context, accepted time.Time) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	if sv.proc != nil { // already running (an error state with a live QEMU): just resync
		sv.resync(ctx)
		return
	}
	inst, err := sv.s.ensurePorts(ctx, inst)
	if err == nil {
		err = sv.boot(ctx, inst, accepted, nil)
	}
	if err != nil {
		sv.fail(VMStopped, PowerShutdown, err)
	}
}

// stop powers the guest off: ACPI powerdown, then quit after StopTimeout, then SIGKILL after the
// identity check. hard skips the powerdown and gives quit one QMP timeout; so does a paused guest, whose
// frozen vcpus cannot answer the power button.
func (sv *supervisor) stop(ctx context.Context, hard bool) {
	if inst, ok := sv.current(); ok && inst.VMState == VMPaused {
		hard = true
	}
	if sv.proc != nil {
		sv.expectExit = true
		if !hard {
			sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.SystemPowerdown(c) })
			sv.waitExit(ctx, sv.s.o.StopTimeout)
		}
		if !sv.terminate(ctx) {
			return // pre-empted or the process would not die: the fault is recorded
		}
	}
	if ctx.Err() != nil {
		return
	}
	sv.setStopped(PowerShutdown, "")
}

// terminate ends the QEMU process: quit, then SIGKILL. It reports whether the process is gone.
func (sv *supervisor) terminate(ctx context.Context) bool {
	if sv.proc == nil {
		return true
	}
	if !sv.exitedNow() {
		sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Quit(c) })
		sv.waitExit(ctx, 3*time.Second)
	}
	if !sv.exitedNow() {
		kctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := sv.proc.Kill(kctx)
		cancel()
		if err != nil && !errors.Is(err, qemu.ErrNotOurs) {
			sv.fail(VMError, PowerNoState, err)
			return false
		}
	}
	sv.afterExit()
	return true
}

func (sv *supervisor) setStopped(power, fault string) {
	_, err := sv.s.update(sv.id, func(i *Instance) error {
		i.VMState, i.TaskState, i.PowerState, i.Fault = VMStopped, TaskNone, power, fault
		i.PID, i.PIDStartTime = 0, 0
		return nil
	})
	if err != nil {
		sv.s.log.Error("record instance stopped", "instance", sv.id, "err", err)
	}
}

// exitedNow reports whether the process has exited, without waiting.
func (sv *supervisor) exitedNow() bool {
	select {
	case <-sv.proc.Exited():
		return true
	default:
		return false
	}
}

// waitExit waits up to d for the process to exit.
func (sv *supervisor) waitExit(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-sv.proc.Exited():
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// qmpCall runs one QMP exchange under QMPTimeout. A monitor that timed out is broken: it is closed so
// the health check reconnects.
func (sv *supervisor) qmpCall(ctx context.Context, fn func(context.Context) error) error {
	if sv.mon == nil {
		return errNoMonitor
	}
	cctx, cancel := context.WithTimeout(ctx, sv.s.o.QMPTimeout)
	defer cancel()
	err := fn(cctx)
	if err != nil && cctx.Err() != nil {
		sv.closeMonitor()
	}
	return err
}

var errNoMonitor = errors.New("QEMU monitor not connected")

// pause stops the vcpus.
func (sv *supervisor) pause(ctx context.Context) {
	if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Stop(c) }); err != nil {
		sv.fail(VMActive, PowerRunning, err)
		return
	}
	sv.s.setStates(sv.id, states{VMPaused, TaskNone, PowerPaused, ""})
}

// unpause resumes the vcpus.
func (sv *supervisor) unpause(ctx context.Context) {
	if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Cont(c) }); err != nil {
		sv.fail(VMPaused, PowerPaused, err)
		return
	}
	sv.s.setStates(sv.id, states{VMActive, TaskNone, PowerRunning, ""})
}
