package store

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.etcd.io/bbolt"
)

// instance is a project-scoped record type, as compute would define it.
type instance struct {
	Meta
	Flavor string   `json:"flavor,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

// flavor is a global record type.
type flavor struct {
	Meta
	VCPUs int `json:"vcpus"`
}

func instanceKind() Kind[instance, *instance] {
	return NewKind[instance](BucketInstances, ScopeProject)
}

func flavorKind() Kind[flavor, *flavor] {
	return NewKind[flavor](BucketFlavors, ScopeGlobal)
}

// testClock starts at a fixed time and moves one second per reading, so every transaction has
// its own, predictable time.
type testClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.t
	c.t = c.t.Add(time.Second)
	return now
}

// openTestDB opens a new catalog in t.TempDir() with a test clock; on cleanup it checks the
// catalog (t.Error on failure) and closes it.
func openTestDB(t *testing.T) *DB {
	t.Helper()
	return openTestDBAt(t, filepath.Join(t.TempDir(), "catalog.db"))
}

// openTestDBAt is openTestDB at a given path.
func openTestDBAt(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path, Options{Now: newTestClock().Now})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Error(err)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// mustUpdate runs fn in a write transaction and fails the test on error.
func mustUpdate(t *testing.T, db *DB, fn func(*Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// rawUpdate is the hook tests use to plant damage below the store API.
func (db *DB) rawUpdate(fn func(*bbolt.Tx) error) error { return db.bolt.Update(fn) }

// readFile returns the bytes of path or fails the test.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantErr fails the test unless err matches want (nil: no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: got error %v, want one wrapping %v", what, err, want)
	}
}

// stat returns the file info of path or fails the test.
func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// sortStrings makes cmp.Diff ignore the order of string slices.
func sortStrings() cmp.Option {
	return cmpopts.SortSlices(func(a, b string) bool { return a < b })
}
