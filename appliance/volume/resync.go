package volume

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// resync reads a volume's active file back into its record when an interrupted or failed task
// leaves the record unsure of it: the virtual size, and the backing file (one of the catalog's
// snapshot files, the record's own backing file, or none after a flatten).
func (s *Service) resync(ctx context.Context, volumeID string) error {
	var path string
	if err := s.db.View(func(tx *store.Tx) error {
		v, err := volumes.Get(tx, volumeID)
		if err == nil {
			path = v.Path
		}
		return err
	}); err != nil {
		return err
	}
	info, err := s.img.info(ctx, path)
	if err != nil {
		return fmt.Errorf("read volume %s back from its file: %w", volumeID, err)
	}
	return s.db.Update(func(tx *store.Tx) error {
		g, err := loadGraph(tx)
		if err != nil {
			return err
		}
		_, err = s.changeTx(tx, volumeID, func(v *Volume) {
			if size := int(info.VirtualSize / GiB); size > v.SizeGiB {
				v.SizeGiB = size
			}
			switch sn, ok := g.byPath[info.Backing]; {
			case info.Backing == v.Backing:
			case info.Backing == "":
				v.Backing, v.BackingFormat, v.Depth, v.BaseImageID = "", "", 0, ""
			case ok:
				stackOn(v, sn)
			default:
				s.log.Warn("volume's active file has a backing file the catalog does not know", "volume", v.ID, "backing", info.Backing)
			}
		})
		return err
	})
}
