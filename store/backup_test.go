package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestBackupWhileWriting takes backups while another goroutine keeps creating records: each
// backup is a consistent catalog, and later backups never have fewer records.
func TestBackupWhileWriting(t *testing.T) {
	db := openTestDB(t)
	dir := t.TempDir()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.Update(createInstance("", "p1")); err != nil {
				t.Error(err)
				return
			}
		}
	})

	last := -1
	for i := range 10 {
		path := filepath.Join(dir, "backup.db")
		if err := db.BackupToFile(path); err != nil {
			t.Fatal(err)
		}
		n := countInBackup(t, path)
		if n < last {
			t.Errorf("backup %d has %d records, the one before had %d", i, n, last)
		}
		last = n
	}
	close(stop)
	wg.Wait()

	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Errorf("Backup to a buffer = %d, %v; buffer holds %d bytes", n, err, buf.Len())
	}
}

// countInBackup opens a backup read-only (which checks it) and counts its instances.
func countInBackup(t *testing.T, path string) int {
	t.Helper()
	b, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer b.Close()
	var n int
	b.View(func(tx *Tx) error {
		n, err = instanceKind().Count(tx, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBackupToFile(t *testing.T) {
	db := openTestDB(t)
	mustUpdate(t, db, createInstance("web", "p1"))
	dir := t.TempDir()
	path := filepath.Join(dir, "backup.db")
	writeBytes(t, path+".tmp", []byte("leftover from a crash"))
	os.Chmod(path+".tmp", 0o644)

	if err := db.BackupToFile(path); err != nil {
		t.Fatal(err)
	}
	if fi := stat(t, path); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
	if n := countInBackup(t, path); n != 1 {
		t.Errorf("backup holds %d instances, want 1", n)
	}
}

func TestBackupToFileFailures(t *testing.T) {
	db := openTestDB(t)
	err := db.BackupToFile(db.Path())
	wantErr(t, "backup onto the catalog itself", err, ErrInvalid)

	missing := filepath.Join(t.TempDir(), "missing", "backup.db")
	if err := db.BackupToFile(missing); err == nil {
		t.Error("backup into a missing directory succeeded")
	}

	// A directory where the backup should go makes the final rename fail: the temporary file
	// must be removed and the directory left alone.
	target := filepath.Join(t.TempDir(), "backup.db")
	if err := os.MkdirAll(filepath.Join(target, "keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := db.BackupToFile(target); err == nil {
		t.Error("backup over a non-empty directory succeeded")
	}
	if _, err := os.Stat(target + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind after a failed backup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(target, "keep")); err != nil {
		t.Errorf("failed backup disturbed the target: %v", err)
	}
}
