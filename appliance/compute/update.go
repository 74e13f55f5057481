package compute

import (
	"errors"
	"fmt"
	"time"

	"cloudlet/store"
)

// update is the one place an instance record changes after create: it re-reads the record in a write
// transaction, applies fn, writes it back and, when any of the three states or the fault changed,
// appends an instance.state event in the same transaction. Deleting wins: a record whose task is
// deleting keeps it, whatever fn sets, so a task the delete pre-empted (a start failing because it was
// cancelled) cannot clear it and a restart still finishes the delete. Only the delete's own writes may
// (write with endsDelete; see supervisor.save).
func (s *Service) update(id string, fn func(*Instance) error) (*Instance, error) {
	return s.write(id, false, fn, nil)
}

// eventNote is an event a write appends beside the state event, in the same transaction.
type eventNote struct {
	typ  string
	data any
}

func (s *Service) write(id string, endsDelete bool, fn func(*Instance) error, also *eventNote) (*Instance, error) {
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
		if err := s.injectedWriteFault(inst); err != nil {
			return err
		}
		if err := instances.Update(tx, inst); err != nil {
			return err
		}
		out = inst
		if also != nil {
			if err := appendEvent(tx, also.typ, "instance", inst.ID, inst.ProjectID, also.data); err != nil {
				return err
			}
		}
		if statesOf(inst) != before {
			return appendEvent(tx, "instance.state", "instance", inst.ID, inst.ProjectID, stateEventOf(inst))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update instance %s: %w", id, err)
	}
	return out, nil
}

// injectedWriteFault is the unit tests' failing catalog: Options.writeFault may refuse a write.
func (s *Service) injectedWriteFault(inst *Instance) error {
	if s.o.writeFault == nil {
		return nil
	}
	return s.o.writeFault(inst)
}

// writeRetries and writeBackoff bound how often a refused write is tried again at once: a catalog
// that is briefly out of space or busy often takes it a moment later.
const (
	writeRetries = 3
	writeBackoff = 20 * time.Millisecond
)

// updateRetrying is update, tried again when the catalog refuses the write. Every write here sets
// fields to values, so writing it twice is the same as once. A record that is gone is not retried.
func (s *Service) updateRetrying(id string, endsDelete bool, fn func(*Instance) error) (*Instance, error) {
	var inst *Instance
	err := retrying(func() (err error) {
		inst, err = s.write(id, endsDelete, fn, nil)
		return err
	})
	return inst, err
}

// retrying runs a catalog write until it succeeds, fails for a reason writing again cannot mend, or
// has been tried writeRetries times.
func retrying(write func() error) error {
	var err error
	for attempt := range writeRetries {
		if err = write(); err == nil || !retryable(err) {
			return err
		}
		time.Sleep(writeBackoff << attempt)
	}
	return err
}

// retryable reports whether a write failed for the catalog's sake (I/O, space, a closed file) rather
// than because the record is gone.
func retryable(err error) bool { return !errors.Is(err, store.ErrNotFound) }
