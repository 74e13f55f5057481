package compute

import (
	"context"
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
	sv.fromStatus(st)
}

func (sv *supervisor) unresponsive(err error) {
	if ctxDone(err) {
		return
	}
	sv.s.update(sv.id, func(i *Instance) error {
		if i.TaskState == TaskNone {
			i.VMState, i.PowerState = VMError, PowerNoState
			i.Fault = fmt.Sprintf("%s (pid %d): %v", faultUnresponsive, sv.proc.PID(), err)
		}
		return nil
	})
}

// fromStatus sets vm and power state from QEMU's run state, clearing an unresponsive fault. A check
// that finds the catalog already saying what QEMU says (nearly every check) writes nothing: no
// revision bump, no updated_at change, no disk write every HealthInterval per running instance.
func (sv *supervisor) fromStatus(st qmp.Status) {
	vm, power := VMActive, PowerRunning
	if !st.Running {
		vm, power = VMPaused, PowerPaused
	}
	sync := func(i *Instance) bool { return syncStates(i, vm, power) }
	if inst, err := sv.s.Get(context.Background(), "", sv.id); err == nil && !sync(inst) {
		return
	}
	sv.s.update(sv.id, func(i *Instance) error {
		sync(i)
		return nil
	})
}

// syncStates sets i's vm and power state to what QEMU reports, unless a task runs or the instance is
// in an error QEMU's status does not explain, and reports whether it changed anything.
func syncStates(i *Instance, vm, power string) bool {
	if i.TaskState != TaskNone {
		return false
	}
	if i.VMState == VMError && !strings.HasPrefix(i.Fault, faultUnresponsive) && i.PID == 0 {
		return false
	}
	if i.VMState == vm && i.PowerState == power && !strings.HasPrefix(i.Fault, faultUnresponsive) {
		return false
	}
	i.VMState, i.PowerState = vm, power
	if strings.HasPrefix(i.Fault, faultUnresponsive) {
		i.Fault = ""
	}
	return true
}

func ctxDone(err error) bool {
	return err == context.Canceled
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
