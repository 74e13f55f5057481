package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/store"
)

// faultInterrupted is the Fault of an upload or URL import the daemon stopped in the middle of.
const faultInterrupted = "import interrupted: the daemon stopped before it finished; delete the image and start again"

// reconcile finishes what a daemon killed in the middle of an import or a delete left behind,
// per record:
//
//	active                         kept
//	queued upload                  kept: still waiting for its data
//	killed upload or URL import    kept for its owner to read Fault; its files removed
//	saving upload or URL import,
//	queued URL import              killed (faultInterrupted); its files removed
//	anything else (file imports,
//	deletes)                       files, then record, removed
//
// and image directories without a record are removed. Only entries of Dir named like an image ID
// are touched, so a misconfigured Dir cannot lose anything else.
func (s *Service) reconcile() error {
	known := map[string]bool{}
	var purge, kill, clean []string
	err := s.db.View(func(tx *store.Tx) error {
		return imageRecords.ForEach(tx, func(img *Image) error {
			known[img.ID] = true
			switch action := reconcileAction(img); action {
			case "purge":
				purge = append(purge, img.ID)
			case "kill":
				kill = append(kill, img.ID)
			case "clean":
				clean = append(clean, img.ID)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("images: read catalog: %w", err)
	}
	var errs []error
	for _, id := range purge {
		errs = append(errs, s.purge(id))
	}
	for _, id := range clean {
		errs = append(errs, s.removeDir(id))
	}
	for _, id := range kill {
		errs = append(errs, s.removeDir(id))
		_, err := s.modify(id, func(img *Image) error {
			img.Status, img.Fault = StatusKilled, faultInterrupted
			return nil
		})
		errs = append(errs, err)
	}
	errs = append(errs, s.removeOrphans(known))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("images: clean up interrupted imports and deletes: %w", err)
	}
	return nil
}

// reconcileAction is what reconcile does with one record: "", "purge", "kill" or "clean".
func reconcileAction(img *Image) string {
	kept := img.Source == SourceUpload || img.Source == SourceURL
	switch {
	case img.Status == StatusActive:
		return ""
	case !kept || img.Status == StatusDeleted:
		return "purge"
	case img.Status == StatusKilled || img.Status == StatusQueued && img.Source == SourceUpload:
		return "clean"
	}
	return "kill"
}

// removeOrphans removes image directories that have no record.
func (s *Service) removeOrphans(known map[string]bool) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("images: read %s: %w", s.dir, err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() && store.IsID(e.Name()) && !known[e.Name()] {
			if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("remove orphan image directory: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}
