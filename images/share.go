package images

import (
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/store"
)

// share lets QEMU, running as an unprivileged user, read an image's files: the directory becomes
// root:ReaderGID 0750 and its files root:ReaderGID 0640. Nothing else on the host can read them.
func (s *Service) share(dir string) error {
	if s.readerGID <= 0 {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("share image dir %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := setGroup(filepath.Join(dir, e.Name()), s.readerGID, 0o640); err != nil {
			return err
		}
	}
	return setGroup(dir, s.readerGID, 0o750)
}

// shareAll applies share to every image directory, for images imported before the QEMU user was
// configured; the image root becomes traversable (0711) but not listable.
func (s *Service) shareAll() error {
	if s.readerGID <= 0 {
		return nil
	}
	if err := os.Chmod(s.dir, 0o711); err != nil {
		return fmt.Errorf("share image root %s: %w", s.dir, err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("share image root %s: %w", s.dir, err)
	}
	for _, e := range entries {
		if e.IsDir() && store.IsID(e.Name()) {
			if err := s.share(filepath.Join(s.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func setGroup(path string, gid int, mode os.FileMode) error {
	if err := os.Chown(path, 0, gid); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}
