package compute

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/store"
)

// faultUnresponsive starts the fault text of an instance whose QEMU stopped answering QMP.
const faultUnresponsive = "QEMU is not answering on its monitor"

// checkHealth asks a running QEMU for its status: a silent QEMU turns the instance to error (the API
// keeps answering: show reads the catalog), a responsive one resyncs the states from what QEMU says.
func (sv *supervisor) checkHealth(ctx context.Context) {
	if sv.proc == nil {
		return
	}
	if !sv.restoring.IsZero() {
		sv.retryRestore(ctx)
		return
	}
	sv.resync(ctx)
}

// resync reconnects if needed and sets the states from query-status.
func (sv *supervisor) resync(ctx context.Context) {
	if sv.mon == nil {
		dctx, cancel := context.WithTimeout(ctx, sv.s.o.QMPTimeout)
		mon, err := sv.s.hv.dial(dctx, sv.paths().QMP)
		cancel()
		if err != nil {
			sv.unresponsive(err)
			return
		}
		sv.mon = mon
	}
	var st qmp.Status
	err := sv.qmpCall(ctx, func(c context.Context) (err error) { st, err = sv.mon.QueryStatus(c); return err })
	if err != nil {
		sv.unresponsive(err)
		return
	}
	sv.fromStatus(ctx, st)
}

func (sv *supervisor) unresponsive(err error) {
	if ctxDone(err) {
		return
	}
	pid, start := sv.proc.PID(), sv.proc.StartTime()
	sv.save("record QEMU unresponsive", func(i *Instance) error {
		if i.TaskState == TaskNone {
			transition{VM: VMError, Power: PowerNoState, Fault: fmt.Sprintf("%s (pid %d): %v", faultUnresponsive, pid, err)}.apply(i)
		}
		// The QEMU is kept (a hard-stop or delete ends it): the record names it, also one a restart
		// found before its start was recorded (a resume the daemon died in, restoring slowly).
		i.PID, i.PIDStartTime = pid, start
		return nil
	})
}

// fromStatus sets vm and power state from QEMU's run state (runstate.go), clearing an unresponsive
// fault. A QEMU that needs a reset is ended and the instance stopped with the reason. A check that
// finds the catalog already saying what QEMU says (nearly every check) writes nothing: no revision
// bump, no updated_at change, no disk write every HealthInterval per running instance.
func (sv *supervisor) fromStatus(ctx context.Context, st qmp.Status) {
	if needsReset(st.Status) {
		sv.settleDead(ctx, TaskNone, st.Status)
		return
	}
	vm, power, fault := shownAs(st)
	sync := func(i *Instance) bool { return syncStates(i, vm, power, fault) }
	if inst, err := sv.s.Get(ctx, "", sv.id); err == nil && !sync(inst) {
		return
	}
	sv.save("record QEMU's status "+st.Status, func(i *Instance) error {
		sync(i)
		return nil
	})
}

// syncStates sets i's vm and power state (and fault) to what QEMU reports, unless a task runs or the
// instance is in an error QEMU's status does not explain, and reports whether it changed anything.
func syncStates(i *Instance, vm VMState, power PowerState, fault string) bool {
	if i.TaskState != TaskNone {
		return false
	}
	if i.VMState == VMError && !strings.HasPrefix(i.Fault, faultUnresponsive) && i.PID == 0 {
		return false
	}
	t := transition{VM: vm, Power: power, Fault: i.Fault}
	if strings.HasPrefix(i.Fault, faultUnresponsive) {
		t.Fault = ""
	}
	if fault != "" {
		t.Fault = fault
	}
	if i.VMState == t.VM && i.PowerState == t.Power && i.Fault == t.Fault {
		return false
	}
	t.apply(i)
	return true
}

// ctxDone reports whether err is the daemon's context ending (a shutdown), which says nothing about
// QEMU. The monitor wraps it ("qmp query-status: context canceled").
func ctxDone(err error) bool {
	return errors.Is(err, context.Canceled)
}

// recordEvent appends an event about an instance without changing it.
func (s *Service) recordEvent(id, typ string, data any) {
	err := s.db.Update(func(tx *store.Tx) error {
		inst, err := instances.Get(tx, id)
		if err != nil {
			return err
		}
		return appendEvent(tx, typ, "instance", id, inst.ProjectID, data)
	})
	if err != nil {
		s.log.Warn("record event", "instance", id, "type", typ, "err", err)
	}
}
