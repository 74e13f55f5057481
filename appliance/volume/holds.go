package volume

import (
	"fmt"

	"cloudlet/store"
)

// The image a volume or a snapshot stands on is held in the catalog (store's holds), written in
// the transaction that writes the record, so the image service, which never asks this one, refuses
// the image's delete in its own transaction while any holds it (and a volume cannot take a hold on
// an image whose delete has begun). What holds: the image at the bottom of a volume's or a
// snapshot's chain (BaseImageID: a volume on a snapshot inherits it) and, while a volume is created
// from it, its source image (a full copy reads it until it is available).

// volumeHolds is what a volume holds: its chain's image, or the image it is being copied from.
func volumeHolds(v *Volume) []store.Ref {
	var refs []store.Ref
	if v.BaseImageID != "" {
		refs = append(refs, store.Ref{Bucket: store.BucketImages, ID: v.BaseImageID})
	}
	if v.Status == StatusCreating && v.Source.ImageID != "" && v.Source.ImageID != v.BaseImageID {
		refs = append(refs, store.Ref{Bucket: store.BucketImages, ID: v.Source.ImageID})
	}
	return refs
}

// snapshotHolds is what a snapshot holds: its chain's image.
func snapshotHolds(sn *Snapshot) []store.Ref {
	if sn.BaseImageID == "" {
		return nil
	}
	return []store.Ref{{Bucket: store.BucketImages, ID: sn.BaseImageID}}
}

// syncHolds builds the holds of every volume and snapshot (those of a catalog from before the holds
// table) and drops those of records gone, in one transaction, before anything else writes.
func (s *Service) syncHolds() error {
	err := s.db.Update(func(tx *store.Tx) error {
		if err := volumes.SyncHolds(tx); err != nil {
			return err
		}
		return snapshots.SyncHolds(tx)
	})
	if err != nil {
		return fmt.Errorf("record the images volumes hold: %w", err)
	}
	return nil
}
