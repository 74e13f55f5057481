package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

func TestCheckCleanCatalog(t *testing.T) {
	db := openTestDB(t)
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(createInstance("web", "p1")(tx), createFlavor("m1.tiny", "")(tx),
			AppendEvent(tx, &Event{Type: "instance.created"}))
	})
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

// TestCheckFindsPlantedDamage writes around the store API with raw bbolt and expects Check, and
// the next Open, to notice.
func TestCheckFindsPlantedDamage(t *testing.T) {
	const other = "00000000-0000-4000-8000-0000000000ff"
	tests := []struct {
		name  string
		plant func(tx *bbolt.Tx, web string) error
		want  string
	}{
		{"dangling name entry", func(tx *bbolt.Tx, _ string) error {
			return sub(tx, BucketInstances, subNames).Put(nameKey("p1", "ghost"), []byte(other))
		}, `instances names entry "p1\x00ghost" points at missing record "` + other + `"`},
		{"name entry pointing at the wrong record", func(tx *bbolt.Tx, web string) error {
			return sub(tx, BucketInstances, subNames).Put(nameKey("p2", "web"), []byte(web))
		}, `instances names entry "p2\x00web" points at record ` + "WEB" + ` named "web" in project "p1"`},
		{"named record not indexed", func(tx *bbolt.Tx, _ string) error {
			return sub(tx, BucketInstances, subNames).Delete(nameKey("p1", "web"))
		}, `instances record WEB named "web" is not in the names index`},
		{"record not in projects index", func(tx *bbolt.Tx, web string) error {
			return sub(tx, BucketInstances, subProjects).Delete(projectKey("p1", web))
		}, `instances record WEB of project "p1" is not in the projects index`},
		{"projects entry of another project", func(tx *bbolt.Tx, web string) error {
			return sub(tx, BucketInstances, subProjects).Put(projectKey("p2", web), nil)
		}, `instances projects entry "p2\x00WEB": record WEB belongs to project "p1"`},
		{"record whose JSON has another id", func(tx *bbolt.Tx, _ string) error {
			return sub(tx, BucketInstances, subRecords).Put([]byte(other), []byte(`{"id":"x"}`))
		}, `instances record "` + other + `": its JSON has id "x"`},
		{"record that is not JSON", func(tx *bbolt.Tx, _ string) error {
			return sub(tx, BucketVolumes, subRecords).Put([]byte(other), []byte(`{`))
		}, `volumes record "` + other + `": undecodable JSON`},
		{"missing sub-bucket", func(tx *bbolt.Tx, _ string) error {
			return tx.Bucket([]byte(BucketPorts)).DeleteBucket([]byte(subNames))
		}, `catalog bucket "ports" lacks a records, names or projects sub-bucket`},
		{"missing record bucket", func(tx *bbolt.Tx, _ string) error {
			return tx.DeleteBucket([]byte(BucketAudit))
		}, `catalog has no bucket "audit"`},
		{"event key of the wrong size", func(tx *bbolt.Tx, _ string) error {
			return tx.Bucket([]byte(bucketEvents)).Put([]byte("short"), []byte(`{}`))
		}, `events key "short" is not 8 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "catalog.db")
			db, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			web := &instance{Meta: Meta{Name: "web", ProjectID: "p1"}}
			mustUpdate(t, db, func(tx *Tx) error { return instanceKind().Create(tx, web) })
			if err := db.rawUpdate(func(tx *bbolt.Tx) error { return tt.plant(tx, web.ID) }); err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tt.want, "WEB", web.ID)

			err = db.Check()
			db.Close()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), want) {
				t.Errorf("Check: %v\nwant ErrCorrupt mentioning %s", err, want)
			}
			if _, err := Open(path, Options{}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Open of the damaged catalog: %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestCheckListsFirstProblems(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "catalog.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.rawUpdate(func(tx *bbolt.Tx) error {
		names := sub(tx, BucketInstances, subNames)
		for i := range 20 {
			names.Put(nameKey("p1", NewID()[:8+i%3]), []byte(NewID()))
		}
		return nil
	})
	err = db.Check()
	if err == nil || !strings.Contains(err.Error(), "20 problem(s)") || !strings.HasSuffix(err.Error(), "; and 12 more") {
		t.Errorf("Check: %v; want 20 problems, 8 listed", err)
	}
}

// sub returns the sub-bucket of a record bucket.
func sub(tx *bbolt.Tx, bucket, name string) *bbolt.Bucket {
	return tx.Bucket([]byte(bucket)).Bucket([]byte(name))
}
