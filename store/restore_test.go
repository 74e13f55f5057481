package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	catalog, backup := filepath.Join(dir, "catalog.db"), filepath.Join(dir, "backup.db")
	db, err := Open(catalog, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, createInstance("web", "p1"))
	if err := db.BackupToFile(backup); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, createInstance("db", "p1"))
	mustUpdate(t, db, func(tx *Tx) error {
		web, err := instanceKind().Lookup(tx, "p1", "web")
		if err != nil {
			return err
		}
		return instanceKind().Delete(tx, web.ID)
	})
	db.Close()

	if err := Restore(backup, catalog); err != nil {
		t.Fatal(err)
	}
	db = openTestDBAt(t, catalog)
	db.View(func(tx *Tx) error {
		assertNames(t, tx, "p1", []string{"web"})
		return nil
	})
}

func TestRestoreRefusesLockedCatalog(t *testing.T) {
	dir := t.TempDir()
	catalog, backup := filepath.Join(dir, "catalog.db"), filepath.Join(dir, "backup.db")
	db := openTestDBAt(t, catalog)
	if err := db.BackupToFile(backup); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, createInstance("web", "p1"))
	before := readFile(t, catalog)

	err := Restore(backup, catalog)
	wantErr(t, "Restore over a running catalog", err, ErrLocked)
	if !bytes.Equal(before, readFile(t, catalog)) {
		t.Error("refused Restore changed the catalog")
	}
}

func TestRestoreRejectsBadBackups(t *testing.T) {
	dir := t.TempDir()
	catalog := filepath.Join(dir, "catalog.db")
	db, err := Open(catalog, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, createInstance("web", "p1"))
	db.Close()
	before := readFile(t, catalog)

	corrupt := filepath.Join(dir, "corrupt.db")
	writeBytes(t, corrupt, randomBytes(32<<10))
	tests := []struct {
		name   string
		backup string
		want   error
	}{
		{"corrupt backup", corrupt, ErrCorrupt},
		{"missing backup", filepath.Join(dir, "missing.db"), nil},
		{"the catalog itself", catalog, ErrInvalid},
	}
	for _, tt := range tests {
		err := Restore(tt.backup, catalog)
		if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: Restore = %v, want an error wrapping %v", tt.name, err, tt.want)
		}
	}
	if !bytes.Equal(before, readFile(t, catalog)) {
		t.Error("a refused Restore changed the catalog")
	}
}

func TestRestoreOverDamagedCatalog(t *testing.T) {
	dir := t.TempDir()
	catalog, backup := filepath.Join(dir, "catalog.db"), filepath.Join(dir, "backup.db")
	db, err := Open(catalog, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, createInstance("web", "p1"))
	db.BackupToFile(backup)
	db.Close()
	writeBytes(t, catalog, randomBytes(16<<10))

	if err := Restore(backup, catalog); err != nil {
		t.Fatal(err)
	}
	openTestDBAt(t, catalog).View(func(tx *Tx) error {
		assertNames(t, tx, "p1", []string{"web"})
		return nil
	})
}

// TestOpenWaitingDuringRestore: a daemon that starts while Restore holds the lock waits, and then
// opens the restored file, not the old one that Restore renamed away.
func TestOpenWaitingDuringRestore(t *testing.T) {
	dir := t.TempDir()
	catalog, backup := filepath.Join(dir, "catalog.db"), filepath.Join(dir, "backup.db")
	db, err := Open(catalog, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, createInstance("restored", "p1"))
	db.BackupToFile(backup)
	mustUpdate(t, db, createInstance("old", "p1"))
	db.Close()

	unlock, err := lockFile(catalog) // what Restore holds while it works
	if err != nil {
		t.Fatal(err)
	}
	opened := make(chan *DB)
	go func() {
		db, err := Open(catalog, Options{LockTimeout: 10 * time.Second})
		if err != nil {
			t.Error(err)
		}
		opened <- db
	}()
	time.Sleep(200 * time.Millisecond) // let Open start waiting on the old file
	if err := restore(backup, catalog+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(catalog+".new", catalog); err != nil {
		t.Fatal(err)
	}
	unlock()

	db = <-opened
	if db == nil {
		return
	}
	defer db.Close()
	db.View(func(tx *Tx) error {
		assertNames(t, tx, "p1", []string{"restored"})
		return nil
	})
}
