package appliance

import (
	"fmt"

	"cloudlet/store"
)

// DefaultEventLogKeep is how many events the catalog keeps by default: weeks of a busy homelab's
// changes, a few tens of MiB at most.
const DefaultEventLogKeep = 100_000

// pruneEventLog deletes the oldest events so that at most keep remain, and returns how many went.
func pruneEventLog(db *store.DB, keep int) (int, error) {
	var n int
	err := db.Update(func(tx *store.Tx) error {
		var err error
		n, err = store.PruneEvents(tx, keep)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune the event log to %d events: %w", keep, err)
	}
	return n, nil
}
