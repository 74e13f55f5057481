package compute

import (
	"fmt"

	"cloudlet/store"
)

// states is the (vm, task, power) triple plus the fault text.
type states struct {
	VM, Task, Power, Fault string
}

func statesOf(inst *Instance) states {
	return states{inst.VMState, inst.TaskState, inst.PowerState, inst.Fault}
}

// update is the one place an instance record changes after create: it re-reads the record in a write
// transaction, applies fn, writes it back and, when any of the three states or the fault changed,
// appends an instance.state event in the same transaction. Deleting wins: a record whose task is
// deleting keeps it, whatever fn sets, so a task the delete pre-empted (a start failing because it was
// cancelled) cannot clear it and a restart still finishes the delete. Only the delete's own end may
// (endDelete).
func (s *Service) update(id string, fn func(*Instance) error) (*Instance, error) {
	return s.write(id, false, fn)
}

// endDelete is update for the delete itself, which ends task deleting when it fails.
func (s *Service) endDelete(id string, fn func(*Instance) error) (*Instance, error) {
	return s.write(id, true, fn)
}

func (s *Service) write(id string, endsDelete bool, fn func(*Instance) error) (*Instance, error) {
	var out *Instance
	err := s.db.Update(func(tx *store.Tx) error {
		inst, err := instances.Get(tx, id)
		if err != nil {
			return err
		}
		before := statesOf(inst)
		if err := fn(inst); err != nil {
			return err
		}
		if before.Task == TaskDeleting && !endsDelete {
			inst.TaskState = TaskDeleting
		}
		if err := instances.Update(tx, inst); err != nil {
			return err
		}
		out = inst
		if after := statesOf(inst); after != before {
			return appendEvent(tx, "instance.state", "instance", inst.ID, inst.ProjectID,
				stateEvent{after.VM, after.Task, after.Power, after.Fault})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update instance %s: %w", id, err)
	}
	return out, nil
}

// setStates writes the three states and the fault.
func (s *Service) setStates(id string, st states) (*Instance, error) {
	return s.update(id, func(inst *Instance) error {
		inst.VMState, inst.TaskState, inst.PowerState, inst.Fault = st.VM, st.Task, st.Power, st.Fault
		return nil
	})
}
