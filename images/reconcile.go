package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/store"
)

// reconcile finishes what a daemon killed in the middle of an import or a delete left behind:
// records that never became active (queued, saving, killed, deleted) lose their files and then
// themselves, and image directories without a record are removed. Only entries of Dir named
// like an image ID are touched, so a misconfigured Dir cannot lose anything else.
func (s *Service) reconcile() error {
	known := map[string]bool{}
	var stale []string
	err := s.db.View(func(tx *store.Tx) error {
		return imageRecords.ForEach(tx, func(img *Image) error {
			known[img.ID] = true
			if img.Status != StatusActive {
				stale = append(stale, img.ID)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("images: read catalog: %w", err)
	}
	var errs []error
	for _, id := range stale {
		errs = append(errs, s.purge(id))
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("images: read %s: %w", s.dir, err)
	}
	for _, e := range entries {
		if e.IsDir() && store.IsID(e.Name()) && !known[e.Name()] {
			if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("remove orphan image directory: %w", err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("images: clean up interrupted imports and deletes: %w", err)
	}
	return nil
}
