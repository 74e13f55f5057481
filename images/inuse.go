package images

import (
	"fmt"

	"cloudlet/store"
)

// sealUnused refuses the delete of img while a record holds it in the catalog (store's holds: the
// volume service's volumes and snapshots based on it, written in the transaction that writes
// them), and otherwise seals it, in the caller's transaction: a volume made from the image after
// this point is refused, one made before is seen here. images never asks the volume service.
func sealUnused(tx *store.Tx, img *Image) error {
	holders, err := store.Seal(tx, store.Ref{Bucket: store.BucketImages, ID: img.ID})
	if err != nil {
		return fmt.Errorf("is image %s in use: %w", img.ID, err)
	}
	if len(holders) == 0 {
		return nil
	}
	return UsedBy(img, describeHolder(firstVolume(holders), img.ProjectID))
}

// firstVolume prefers a volume to a snapshot: the volume is what its owner deletes first.
func firstVolume(holders []store.Holder) store.Holder {
	for _, h := range holders {
		if h.Bucket == store.BucketVolumes {
			return h
		}
	}
	return holders[0]
}

// describeHolder names a holder to the image's owner ("volume web-root (<id>)"), and only its kind
// when it belongs to another project ("a volume of another project"), never which one.
func describeHolder(h store.Holder, viewer string) string {
	if h.ProjectID != viewer {
		return fmt.Sprintf("a %s of another project", h.Noun())
	}
	return fmt.Sprintf("%s %s (%s)", h.Noun(), h.Name, h.ID)
}
