package compute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/qemu/qmp"
)

// reboot restarts the guest. Soft: through its agent when one answers (guest-shutdown mode reboot, and
// the guest's own reset awaited); else QEMU is told to pause instead of exiting on shutdown, the guest
// gets an ACPI power button press, and once it has shut down it is reset and resumed. A guest that does
// neither within StopTimeout gets a hard reset, as in Nova. Hard: system_reset at once.
func (sv *supervisor) reboot(ctx context.Context, hard bool) {
	inst, ok := sv.current()
	if !ok {
		return
	}
	prevVM, prevPower := inst.VMState, inst.PowerState
	if sv.mon == nil {
		sv.fail(prevVM, prevPower, fmt.Errorf("reboot: %w", errNoMonitor))
		return
	}
	if !hard {
		if err := sv.softReboot(ctx); err == nil {
			sv.set(transition{VM: VMActive, Power: PowerRunning})
			return
		} else if ctx.Err() != nil || sv.mon == nil {
			sv.fail(VMError, PowerNoState, err)
			return
		}
	}
	err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.SystemReset(c) })
	if err == nil && prevVM == VMPaused {
		err = sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Cont(c) })
	}
	if err != nil {
		sv.fail(prevVM, prevPower, fmt.Errorf("reboot: %w", err))
		return
	}
	sv.set(transition{VM: VMActive, Power: PowerRunning})
}

func (sv *supervisor) softReboot(ctx context.Context) error {
	if sv.agentShutdown(ctx, "reboot") == nil {
		sv.recordShutdownRequest(ShutdownViaAgent, "reboot")
		return sv.waitEvent(ctx, qmp.EventReset, sv.s.o.StopTimeout)
	}
	err := sv.qmpCall(ctx, func(c context.Context) error {
		return sv.mon.Execute(c, "set-action", map[string]string{"shutdown": "pause"}, nil)
	})
	if err != nil {
		return err
	}
	// Restored even when ctx ended (daemon shutdown): a later guest power-off must end QEMU again. A
	// daemon killed before this runs leaves pause set: reattach sets the actions again.
	defer func() {
		if err := sv.setActions(context.Background()); err != nil {
			sv.s.log.Warn("restore QEMU's actions after a soft reboot", "instance", sv.id, "err", err)
		}
	}()
	if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.SystemPowerdown(c) }); err != nil {
		return err
	}
	sv.recordShutdownRequest(ShutdownViaACPI, "reboot")
	if err := sv.waitEvent(ctx, qmp.EventShutdown, sv.s.o.StopTimeout); err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.RebootGuestDown)
	return sv.finishReboot(ctx)
}

var errTimeout = errors.New("timed out")

// waitEvent reads QMP events until one named name arrives.
func (sv *supervisor) waitEvent(ctx context.Context, name string, d time.Duration) error {
	return sv.waitFor(ctx, name, d, func(ev qmp.Event) (bool, error) { return ev.Name == name, nil })
}

// waitFor reads QMP events until done says so (or errs), passing each through note so no bookkeeping
// is lost while a command owns the event stream. what names the wait in a timeout error.
func (sv *supervisor) waitFor(ctx context.Context, what string, d time.Duration, done func(qmp.Event) (bool, error)) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		if sv.mon == nil {
			return errNoMonitor
		}
		select {
		case ev, ok := <-sv.mon.Events():
			if !ok {
				sv.closeMonitor()
				return errNoMonitor
			}
			sv.note(ev)
			if ok, err := done(ev); ok || err != nil {
				return err
			}
		case <-sv.exited():
			return errors.New("QEMU exited")
		case <-t.C:
			return fmt.Errorf("wait for %s: %w", what, errTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
