package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Cleanup removes an instance's run directory with the sockets, pidfile (and the temporary files of
// pidfile writes a killed daemon left) and QEMU log in it, once its QEMU has exited. It keeps the
// state directory (console log, nvram). Absent files are fine; other files in the run directory are
// left alone, and then the directory too.
func Cleanup(paths Paths) error {
	if err := removeRuntimeFiles(paths); err != nil {
		return err
	}
	if err := removeIfExists(paths.StderrLog); err != nil {
		return err
	}
	err := os.Remove(paths.RunDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clean up qemu run dir: %w", err)
	}
	return nil
}

// removeRuntimeFiles removes the pidfile, the temporary files of interrupted pidfile writes and the
// sockets.
func removeRuntimeFiles(p Paths) error {
	temps, err := filepath.Glob(filepath.Join(filepath.Dir(p.PIDFile), pidTempPattern))
	if err != nil {
		return fmt.Errorf("clean up qemu files: %w", err)
	}
	for _, path := range append(append(p.sockets(), p.PIDFile), temps...) {
		if err := removeIfExists(path); err != nil {
			return err
		}
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clean up qemu files: %w", err)
	}
	return nil
}
