package store

import (
	"path/filepath"
	"testing"
)

// TestCursorSurvivesReopen: an event-log reader's cursor starts at 0, keeps what was written, and
// is still there after the catalog is closed and opened again (a daemon restart).
func TestCursorSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	read := func(db *DB) uint64 {
		t.Helper()
		var seq uint64
		err := db.View(func(tx *Tx) (err error) {
			seq, err = ReadCursor(tx, "webhooks")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	if got := read(db); got != 0 {
		t.Fatalf("unwritten cursor = %d, want 0", got)
	}
	mustUpdate(t, db, func(tx *Tx) error { return WriteCursor(tx, "webhooks", 42) })
	if got := read(db); got != 42 {
		t.Fatalf("cursor = %d, want 42", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(openTestDBAt(t, path)); got != 42 {
		t.Fatalf("cursor after reopen = %d, want 42", got)
	}
}
