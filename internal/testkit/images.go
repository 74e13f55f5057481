package testkit

import (
	"testing"

	"cloudlet/store"
)

// imageRecord is the bare catalog record of an image: only what store itself keeps.
type imageRecord struct{ store.Meta }

var imageRecords = store.NewKind[imageRecord](store.BucketImages, store.ScopeProject)

// ImageRecord puts a bare record of image id in the catalog, for tests whose image source is a
// fake: a volume based on an image holds the image's record (store's holds), which must exist.
func ImageRecord(t testing.TB, db *store.DB, id, name, projectID string) {
	t.Helper()
	err := db.Update(func(tx *store.Tx) error {
		return imageRecords.Create(tx, &imageRecord{Meta: store.Meta{ID: id, Name: name, ProjectID: projectID}})
	})
	if err != nil {
		t.Fatalf("record image %s: %v", id, err)
	}
}

// volumeRecord is the bare catalog record of a volume that stands on an image.
type volumeRecord struct {
	store.Meta
	BaseImageID string `json:"base_image_id,omitempty"`
}

var volumeRecords = store.NewKind[volumeRecord](store.BucketVolumes, store.ScopeProject).Holding(
	func(v *volumeRecord) []store.Ref { return []store.Ref{{Bucket: store.BucketImages, ID: v.BaseImageID}} })

// ImageVolume puts a bare record of a volume of projectID on image imageID in the catalog, holding
// the image as the volume service's volumes do, and returns its ID and a function that deletes it.
func ImageVolume(t testing.TB, db *store.DB, name, projectID, imageID string) (string, func()) {
	t.Helper()
	v := &volumeRecord{Meta: store.Meta{Name: name, ProjectID: projectID}, BaseImageID: imageID}
	if err := db.Update(func(tx *store.Tx) error { return volumeRecords.Create(tx, v) }); err != nil {
		t.Fatalf("record volume %s on image %s: %v", name, imageID, err)
	}
	return v.ID, func() {
		t.Helper()
		if err := db.Update(func(tx *store.Tx) error { return volumeRecords.Delete(tx, v.ID) }); err != nil {
			t.Fatalf("delete volume %s: %v", name, err)
		}
	}
}
