package appliance

import (
	"path/filepath"
	"testing"

	"cloudlet/store"
)

// TestTheEventLogKeepsOnlyItsNewestEvents: pruning leaves the newest keep events, with their
// sequence numbers, and the next event continues the sequence.
func TestTheEventLogKeepsOnlyItsNewestEvents(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "catalog.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendEvents := func(n int) {
		t.Helper()
		if err := db.Update(func(tx *store.Tx) error {
			for range n {
				if err := store.AppendEvent(tx, &store.Event{Type: "tick"}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	appendEvents(10)
	if n, err := pruneEventLog(db, 4); err != nil || n != 6 {
		t.Fatalf("pruneEventLog(keep 4) of 10 = %d, %v; want 6 pruned", n, err)
	}
	appendEvents(1)
	evs, err := db.EventsSince(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, e := range evs {
		seqs = append(seqs, e.Seq)
	}
	if len(seqs) != 5 || seqs[0] != 7 || seqs[4] != 11 {
		t.Errorf("events after pruning to 4 and one more: seqs %v, want 7..11", seqs)
	}
}
