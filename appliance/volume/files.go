package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File names inside a volume's directory <pool>/<volume-id>/. A file keeps its name for life: QEMU
// remembers the names of the files it opened, so a file it may hold is never renamed. Only the
// records say which file is the active one and which are snapshots; code never infers it from a
// name (catalogs from before this layout name them active.qcow2 and snap-<id>.qcow2).
const (
	firstName = "active.qcow2"     // a new volume's first active file
	tmpSuffix = ".tmp"             // a file being written, renamed into place before anyone opens it
	legacyTmp = "active.qcow2.tmp" // the old layout's overlay while a snapshot was taken
)

func volumeDir(p *Pool, id string) string { return filepath.Join(p.Path, id) }
func firstPath(dir string) string         { return filepath.Join(dir, firstName) }

// nextActivePath is the active file a snapshot with ID snapshotID makes, in the volume directory dir.
func nextActivePath(dir, snapshotID string) string {
	return filepath.Join(dir, "active-"+snapshotID+".qcow2")
}

// tmpFor is the temporary name under which final is written.
func tmpFor(final string) string { return final + tmpSuffix }

// backingRef is how a file in dir names its backing file in its header: relative when both share
// the directory (the volume's own snapshots, so the chain survives renames of the pool), absolute
// otherwise (images, other volumes' snapshots). "" stays "".
func backingRef(dir, backing string) string {
	if backing != "" && filepath.Dir(backing) == dir {
		return filepath.Base(backing)
	}
	return backing
}

// makeDir creates a volume's directory, 0700 and owned by the QEMU user.
func (s *Service) makeDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("create volume directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("create volume directory: %w", err)
	}
	return s.own(dir)
}

// own gives path to the QEMU user (when there is one), so QEMU can open it read-write.
func (s *Service) own(path string) error {
	if s.owner == nil {
		return nil
	}
	if err := os.Chown(path, int(s.owner.Uid), int(s.owner.Gid)); err != nil {
		return fmt.Errorf("give %s to the QEMU user: %w", path, err)
	}
	return nil
}

// seal makes a freshly written file 0600 and the QEMU user's.
func (s *Service) seal(path string) error {
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return s.own(path)
}

// publish renames a finished temporary file into place and makes the rename durable.
func publish(tmp, final string) error {
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("rename %s: %w", filepath.Base(tmp), err)
	}
	return syncDir(filepath.Dir(final))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// exists reports whether path exists (errors other than "not there" count as existing, so a
// caller never deletes or recreates on a guess).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// removeTemps removes the temporary files of a volume directory.
func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// removeVolumeDir removes a volume's directory and everything in it; its name must be the
// volume's ID, so a corrupt record cannot make it remove anything else.
func removeVolumeDir(dir, id string) error {
	if filepath.Base(dir) != id || id == "" {
		return fmt.Errorf("refusing to remove %s: not the directory of volume %s", dir, id)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove volume files: %w", err)
	}
	return nil
}
