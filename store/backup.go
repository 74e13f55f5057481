package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the catalog to w while the daemon keeps running: a read
// transaction pins one version of the file (writers are not blocked) and streams it. The copy is a
// catalog in its own right, to be restored with Restore.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("back up catalog %s: %w", db.path, err)
	}
	return n, nil
}

// BackupToFile writes a backup to path atomically: into path+".tmp" (mode 0600), fsynced, then
// renamed over path. On failure path is untouched and the temporary file is removed.
func (db *DB) BackupToFile(path string) error {
	if sameFile(path, db.path) {
		return faultf(ErrInvalid, "back up catalog %s to %s: that is the catalog itself", db.path, path)
	}
	err := writeAtomic(path, func(w io.Writer) error {
		_, err := db.Backup(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("back up catalog %s to %s: %w", db.path, path, err)
	}
	return nil
}

// writeAtomic creates path with the bytes fill writes, or leaves it as it was.
func writeAtomic(path string, fill func(io.Writer) error) (err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil { // a leftover temporary file may have had another mode
		return err
	}
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// sameFile reports whether a and b name the same existing file (or the same path).
func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
