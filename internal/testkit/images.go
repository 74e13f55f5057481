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
