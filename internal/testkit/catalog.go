package testkit

import (
	"path/filepath"
	"testing"

	"cloudlet/store"
)

// Catalog opens a real catalog, dir/catalog.db (dir "" is a fresh t.TempDir()), with o. When the
// test ends it runs the catalog's Check and fails the test if the catalog is inconsistent (a record
// without its name index, a name pointing nowhere, an object in a project that is gone...), then
// closes it. Registered before the services a test builds over it, that cleanup runs after theirs.
func Catalog(t testing.TB, dir string, o store.Options) *store.DB {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	db, err := store.Open(filepath.Join(dir, "catalog.db"), o)
	if err != nil {
		t.Fatalf("open the catalog: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("the catalog is inconsistent at the end of the test: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close the catalog: %v", err)
		}
	})
	return db
}
