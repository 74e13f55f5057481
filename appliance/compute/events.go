package compute

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"cloudlet/appliance/qemu/qmp"
)

// note keeps what later decisions need from an event (was the exit a guest shutdown or a panic?).
func (sv *supervisor) note(ev qmp.Event) {
	switch ev.Name {
	case qmp.EventShutdown:
		if d, err := qmp.ParseShutdown(ev); err == nil {
			sv.shutdown = &d
		}
	case qmp.EventGuestPanicked:
		sv.panicked = true
	case qmp.EventDeviceDeleted:
		var d struct {
			Device string `json:"device"`
		}
		if json.Unmarshal(ev.Data, &d) == nil {
			sv.lastDeleted = d.Device
		}
	}
}

// onEvent applies an event that arrived outside any command: the hypervisor is the authority. A STOP or
// RESUME may be stale (our own pause, or the pause inside a suspend that failed and was undone), so it
// triggers a status query rather than a blind state change.
func (sv *supervisor) onEvent(ctx context.Context, ev qmp.Event, ok bool) {
	if !ok || ev.Name == qmp.EventDisconnected {
		sv.closeMonitor() // the health check reconnects if QEMU is still there
		return
	}
	sv.note(ev)
	if ev.Name == qmp.EventStop || ev.Name == qmp.EventResume {
		sv.resync(ctx)
	}
	sv.record(ev)
}

// record puts what the guest did (a reset, a panic) on the instance's event log.
func (sv *supervisor) record(ev qmp.Event) {
	switch ev.Name {
	case qmp.EventReset:
		sv.s.recordEvent(sv.id, "instance.reset", nil)
	case qmp.EventGuestPanicked:
		sv.s.recordEvent(sv.id, "instance.panicked", nil)
	}
}

// onExit handles a QEMU that exited while no command expected it: a guest power-off is a stop,
// anything else is a crash, and the restart policy decides what happens next.
func (sv *supervisor) onExit() {
	if !sv.restoring.IsZero() { // an interrupted resume's QEMU, never reached: as if found gone at reattach
		sv.afterExit()
		if inst, ok := sv.current(); ok {
			sv.noProcess(sv.s.ctx, inst)
		}
		return
	}
	clean := sv.shutdown != nil && sv.shutdown.Guest && sv.shutdown.Reason != "guest-panic" && !sv.panicked
	status, tail := sv.proc.ExitStatus(), sv.proc.StderrTail(5)
	expected := sv.expectExit
	sv.afterExit()
	if clean || expected {
		sv.setStopped(PowerShutdown, "")
		return
	}
	reason := fmt.Sprintf("QEMU exited unexpectedly (%s)", status)
	if sv.panicked {
		reason = "the guest kernel panicked"
	}
	if tail != "" {
		reason += ": " + tail
	}
	sv.crashed(reason)
}

// crashed records a crash and applies the restart policy with its crash-loop limit.
func (sv *supervisor) crashed(reason string) {
	now := sv.s.now()
	var restart bool
	inst, ok := sv.save("record crash", func(i *Instance) error {
		i.Crashes = recentCrashes(append(i.Crashes, now), now, sv.s.o.CrashLoopWindow)
		t := transition{VM: VMStopped, Power: PowerCrashed, Fault: reason}
		restart = false // a retried write decides again
		if i.RestartPolicy == RestartOnCrash {
			if len(i.Crashes) > sv.s.o.CrashLoopLimit {
				t.VM = VMError
				t.Fault = fmt.Sprintf("crash loop: %d crashes within %s, not restarting; last: %s",
					len(i.Crashes), sv.s.o.CrashLoopWindow, reason)
			} else {
				restart = true
			}
		}
		t.apply(i)
		return nil
	})
	if !ok {
		return
	}
	sv.s.log.Warn("instance crashed", "instance", sv.id, "reason", reason, "restart", restart)
	if restart {
		if _, err := sv.s.Act(context.Background(), "", inst.ID, ActStart, ActionArgs{}); err != nil {
			sv.fail(VMStopped, PowerCrashed, fmt.Errorf("restart after crash: %w", err))
		}
	}
}

// recentCrashes keeps the crash times inside the window.
func recentCrashes(all []time.Time, now time.Time, window time.Duration) []time.Time {
	var out []time.Time
	for _, t := range all {
		if now.Sub(t) <= window {
			out = append(out, t)
		}
	}
	return out
}
