package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// ExportSnapshot writes a snapshot's whole backing chain as one standalone qcow2 file next to the
// volume (same filesystem), for making an image of it. The caller removes the file with cleanup. A
// snapshot file is never written after it is taken, so it is read while the volume keeps running.
func (s *Service) ExportSnapshot(ctx context.Context, projectID, snapshot string) (path string, cleanup func(), err error) {
	sn, err := s.Snapshot(ctx, projectID, snapshot)
	if err != nil {
		return "", nil, err
	}
	if sn.Status != StatusAvailable {
		return "", nil, faultf(ErrConflict, "snapshot %s is %s, not available", sn.Name, sn.Status)
	}
	dst := filepath.Join(filepath.Dir(sn.Path), ".export-"+sn.ID+".qcow2.tmp")
	cleanup = func() { os.Remove(dst) }
	if err := s.img.convert(ctx, "qcow2", sn.Path, dst, DefaultClusterSize, PreallocOff); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("export snapshot %s: %w", sn.Name, err)
	}
	return dst, cleanup, nil
}
