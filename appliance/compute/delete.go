package compute

import (
	"context"
	"fmt"
	"os"

	"cloudlet/store"
)

// delete frees everything the instance has: its QEMU (quit, then SIGKILL after the identity check),
// runtime dir, state dir (root disk, console log, saved state) and finally its record.
func (sv *supervisor) delete(ctx context.Context) {
	if sv.proc != nil {
		sv.expectExit = true
		if !sv.terminate(ctx) {
			return
		}
	}
	sv.cleanupRun()
	if err := os.RemoveAll(sv.s.stateDir(sv.id)); err != nil {
		sv.fail(VMError, PowerNoState, fmt.Errorf("delete: remove state dir: %w", err))
		return
	}
	err := sv.s.db.Update(func(tx *store.Tx) error {
		inst, err := instances.Get(tx, sv.id)
		if err != nil {
			return err
		}
		if err := instances.Delete(tx, sv.id); err != nil {
			return err
		}
		return appendEvent(tx, "instance.deleted", "instance", inst.ID, inst.ProjectID,
			stateEvent{VMDeleted, TaskNone, PowerNoState, ""})
	})
	if err != nil {
		sv.s.log.Error("delete instance record", "instance", sv.id, "err", err)
		return
	}
	sv.deleted = true
}
