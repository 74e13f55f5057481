package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Restore replaces the catalog at catalogPath with the backup at backupPath. It is an offline
// operation: it fails with ErrLocked while a daemon has the catalog open, and holds the catalog's
// lock itself while it works, so a daemon starting meanwhile waits (and Open notices the file it
// waited for was replaced). The backup is opened read-only and checked first (ErrCorrupt,
// ErrNewerSchema), then copied into catalogPath+".tmp", fsynced, and renamed over catalogPath,
// which is therefore either the old catalog or the complete backup, never a mixture. An older
// backup is migrated when the daemon next opens it.
func Restore(backupPath, catalogPath string) error {
	if err := restore(backupPath, catalogPath); err != nil {
		return fmt.Errorf("restore catalog %s from %s: %w", catalogPath, backupPath, err)
	}
	return nil
}

func restore(backupPath, catalogPath string) error {
	if sameFile(backupPath, catalogPath) {
		return faultf(ErrInvalid, "the backup is the catalog itself")
	}
	unlock, err := lockFile(catalogPath)
	if err != nil {
		return err
	}
	defer unlock()

	backup, err := Open(backupPath, Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer backup.Close()
	return writeAtomic(catalogPath, func(w io.Writer) error {
		_, err := backup.Backup(w)
		return err
	})
}

// lockFile takes the exclusive lock a daemon holds on a catalog, without waiting, so nothing
// can open it until unlock. A catalog that does not exist yet needs no lock.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("%w (is a cloudlet daemon running on this data dir? stop it first)", ErrLocked)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
