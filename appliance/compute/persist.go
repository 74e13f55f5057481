package compute

import (
	"errors"

	"cloudlet/store"
)

// The supervisor records what QEMU did through save and set. A write the catalog refuses is retried at
// once a few times (updateRetrying); if it still fails it is logged and kept pending, and the
// supervisor writes it again, before any later change and on every health tick, until the catalog
// takes it. Writes are never dropped: the catalog and QEMU agree again as soon as the catalog can be
// written. A step of a start whose write fails is undone instead (see launch.go), and the instance ends
// in error with the reason.

// set records a transition of the instance's states.
func (sv *supervisor) set(t transition) bool {
	if sv.preempted() { // the pre-empting command owns the states now
		return false
	}
	overtaken := false
	_, ok := sv.save("record state "+t.String(), func(i *Instance) error {
		if overtaken = sv.overtaken(i); !overtaken {
			t.apply(i)
		}
		return nil
	})
	return ok && !overtaken
}

// overtaken reports whether the record holds the task of a hard-stop or delete accepted while the
// running command ran. The acceptance writes its task in its own transaction and interrupts the
// supervisor (preempted) only a moment later; a command finishing in between must not write over
// that task either: a daemon killed before the hard-stop ran would forget it (make soak CYCLES=1000,
// seed 1796618812449414604, cycle 700: a pause's last write dropped a hard-stop's task).
func (sv *supervisor) overtaken(i *Instance) bool {
	return sv.running != "" && i.TaskState != sv.running && (i.TaskState == TaskPoweringOff || i.TaskState == TaskDeleting)
}

// save applies fn to the instance's record, after any change still pending. It reports whether the
// record now has it; the record it returns is nil when not. While the delete runs, its writes may end
// task deleting (endDelete).
func (sv *supervisor) save(what string, fn func(*Instance) error) (*Instance, bool) {
	return sv.commit(pendingWrite{what: what, fn: fn, endsDelete: sv.deleting})
}

func (sv *supervisor) commit(change pendingWrite) (*Instance, bool) {
	all := append(sv.pending, change)
	inst, err := sv.s.updateRetrying(sv.id, anyEndsDelete(all), func(i *Instance) error {
		for _, w := range all {
			if err := w.fn(i); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case err == nil:
		sv.pending = nil
		return inst, true
	case errors.Is(err, store.ErrNotFound): // the instance is gone: nothing left to record
		sv.pending = nil
		return nil, false
	}
	sv.pending = all
	sv.s.log.Error("instance record not written; retrying on the next health check", "instance", sv.id,
		"change", change.what, "pending", len(all), "err", err)
	return nil, false
}

// pendingWrite is a change the catalog refused, in the order it was made.
type pendingWrite struct {
	what       string
	fn         func(*Instance) error
	endsDelete bool
}

func anyEndsDelete(ws []pendingWrite) bool {
	for _, w := range ws {
		if w.endsDelete {
			return true
		}
	}
	return false
}

// flushPending writes the changes the catalog refused before; the health tick calls it.
func (sv *supervisor) flushPending() {
	if len(sv.pending) == 0 {
		return
	}
	last := sv.pending[len(sv.pending)-1]
	sv.pending = sv.pending[:len(sv.pending)-1]
	if _, ok := sv.commit(last); ok {
		sv.s.log.Info("pending instance record written", "instance", sv.id, "change", last.what)
	}
}
