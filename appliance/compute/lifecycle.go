package compute

import (
	"context"
	"errors"
	"time"

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
// A failed delete ends its task too (save writes through endDelete while it runs), so that the delete
// can be asked again.
func (sv *supervisor) fail(vm VMState, power PowerState, err error) {
	if sv.preempted() {
		sv.s.log.Info("instance task pre-empted", "instance", sv.id, "err", err)
		return
	}
	sv.s.log.Warn("instance task failed", "instance", sv.id, "vm_state", vm, "err", err)
	sv.set(transition{VM: vm, Power: power, Fault: err.Error()})
}

// spawn is the first boot: the launch steps make its state dir, NICs and root disk, then boot it. On
// failure they are undone (its ports are free for others at once, as Nova deallocates a failed build's
// network) and the instance is left in error with the reason; a later start makes them anew.
func (sv *supervisor) spawn(ctx context.Context, accepted time.Time) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	if err := sv.boot(ctx, inst, accepted, nil); err != nil {
		sv.fail(VMError, PowerNoState, err)
	}
}

// start boots a stopped (or failed) instance, first making what a failed spawn undid.
func (sv *supervisor) start(ctx context.Context, accepted time.Time) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	if sv.proc != nil { // already running (an error state with a live QEMU): just resync
		sv.resync(ctx)
		return
	}
	if err := sv.boot(ctx, inst, accepted, nil); err != nil {
		sv.fail(VMStopped, PowerShutdown, err)
	}
}

// stop powers the guest off: guest-shutdown through its agent when one answers (requestPowerOff), else
// the ACPI power button; then, when the guest has not powered off within StopTimeout, quit (with the
// instance.shutdown_timeout event), then SIGKILL after the identity check. hard skips
// the request and gives quit one QMP timeout; so does a paused guest, whose frozen vcpus cannot answer.
func (sv *supervisor) stop(ctx context.Context, hard bool) {
	if inst, ok := sv.current(); ok && inst.VMState == VMPaused {
		hard = true
	}
	if sv.proc != nil {
		sv.expectExit = true
		if !hard {
			sv.requestPowerOff(ctx)
			if !sv.waitExit(ctx, sv.s.o.StopTimeout) && ctx.Err() == nil {
				sv.s.recordEvent(sv.id, "instance.shutdown_timeout", map[string]string{"stop_timeout": sv.s.o.StopTimeout.String()})
			}
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

func (sv *supervisor) setStopped(power PowerState, fault string) {
	sv.set(transition{VM: VMStopped, Power: power, Fault: fault})
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
	sv.set(transition{VM: VMPaused, Power: PowerPaused})
}

// unpause resumes the vcpus.
func (sv *supervisor) unpause(ctx context.Context) {
	if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Cont(c) }); err != nil {
		sv.fail(VMPaused, PowerPaused, err)
		return
	}
	sv.set(transition{VM: VMActive, Power: PowerRunning})
}
