package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestKindCreateGet(t *testing.T) {
	db := openTestDB(t)
	instances := instanceKind()
	rec := &instance{Meta: Meta{Name: "web", ProjectID: "p1"}, Flavor: "m1.small"}
	mustUpdate(t, db, func(tx *Tx) error { return instances.Create(tx, rec) })

	if !IsID(rec.ID) {
		t.Fatalf("Create assigned ID %q, want a UUID", rec.ID)
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	want := &instance{
		Meta:   Meta{ID: rec.ID, Name: "web", ProjectID: "p1", CreatedAt: created, UpdatedAt: created, Revision: 1},
		Flavor: "m1.small",
	}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("record after Create (-want +got):\n%s", diff)
	}
	db.View(func(tx *Tx) error {
		got, err := instances.Get(tx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Get (-want +got):\n%s", diff)
		}
		return nil
	})
}

func TestKindCreateKeepsGivenID(t *testing.T) {
	db := openTestDB(t)
	quotas := NewKind[instance](BucketQuotas, ScopeProject)
	mustUpdate(t, db, func(tx *Tx) error { return quotas.Create(tx, &instance{Meta: Meta{ID: "p1", ProjectID: "p1"}}) })
	db.View(func(tx *Tx) error {
		if _, err := quotas.Get(tx, "p1"); err != nil {
			t.Error(err)
		}
		return nil
	})
}

func TestKindCreateRules(t *testing.T) {
	const existingID = "00000000-0000-4000-8000-000000000001"
	tests := []struct {
		name    string
		create  func(*Tx) error
		want    error
		wantMsg string
	}{
		{"same name, same project", createInstance("web", "p1"), ErrConflict, `instance name "web" already exists in project p1`},
		{"same name, other project", createInstance("web", "p2"), nil, ""},
		{"same name, no project", createInstance("web", ""), nil, ""},
		{"global name taken", createFlavor("m1.small", "p2"), ErrConflict, `flavor name "m1.small" already exists`},
		{"ID taken", func(tx *Tx) error {
			return instanceKind().Create(tx, &instance{Meta: Meta{ID: existingID, Name: "other"}})
		}, ErrConflict, "instance " + existingID + " already exists"},
		{"unnamed records never conflict", createInstance("", "p1"), nil, ""},
		{"invalid name", createInstance("../x", "p1"), ErrInvalid, `invalid name "../x": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`},
		{"NUL in project", createInstance("db", "p\x001"), ErrInvalid, `invalid project id "p\x001": must be at most 255 bytes without NUL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			mustUpdate(t, db, func(tx *Tx) error {
				return errors.Join(
					instanceKind().Create(tx, &instance{Meta: Meta{ID: existingID, Name: "web", ProjectID: "p1"}}),
					flavorKind().Create(tx, &flavor{Meta: Meta{Name: "m1.small"}}),
				)
			})
			err := db.Update(tt.create)
			wantErr(t, "Create", err, tt.want)
			if tt.wantMsg != "" && (err == nil || err.Error() != tt.wantMsg) {
				t.Errorf("Create error = %v, want message %q", err, tt.wantMsg)
			}
		})
	}
}

func createInstance(name, project string) func(*Tx) error {
	return func(tx *Tx) error {
		return instanceKind().Create(tx, &instance{Meta: Meta{Name: name, ProjectID: project}})
	}
}

func createFlavor(name, project string) func(*Tx) error {
	return func(tx *Tx) error {
		return flavorKind().Create(tx, &flavor{Meta: Meta{Name: name, ProjectID: project}})
	}
}

func TestKindCreateFailureLeavesMetaAlone(t *testing.T) {
	db := openTestDB(t)
	mustUpdate(t, db, createInstance("web", "p1"))
	rec := &instance{Meta: Meta{Name: "web", ProjectID: "p1"}}
	err := db.Update(func(tx *Tx) error { return instanceKind().Create(tx, rec) })
	wantErr(t, "Create", err, ErrConflict)
	if diff := cmp.Diff(Meta{Name: "web", ProjectID: "p1"}, rec.Meta); diff != "" {
		t.Errorf("Meta after failed Create (-want +got):\n%s", diff)
	}
}

func TestKindLookup(t *testing.T) {
	db := openTestDB(t)
	web := &instance{Meta: Meta{Name: "web", ProjectID: "p1"}}
	tiny := &flavor{Meta: Meta{Name: "m1.tiny"}}
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(instanceKind().Create(tx, web), flavorKind().Create(tx, tiny))
	})
	tests := []struct {
		name             string
		project, idOrKey string
		flavors          bool
		wantID           string // "" means ErrNotFound
	}{
		{"by ID", "p1", web.ID, false, web.ID},
		{"by ID as admin", "", web.ID, false, web.ID},
		{"by ID from another project", "p2", web.ID, false, ""},
		{"by name", "p1", "web", false, web.ID},
		{"by name from another project", "p2", "web", false, ""},
		{"by name without project", "", "web", false, ""},
		{"unknown", "p1", "db", false, ""},
		{"empty", "p1", "", false, ""},
		{"global kind by name from any project", "p2", "m1.tiny", true, tiny.ID},
		{"global kind by ID from any project", "p2", tiny.ID, true, tiny.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db.View(func(tx *Tx) error {
				var m *Meta
				var err error
				if tt.flavors {
					var f *flavor
					f, err = flavorKind().Lookup(tx, tt.project, tt.idOrKey)
					if f != nil {
						m = &f.Meta
					}
				} else {
					var i *instance
					i, err = instanceKind().Lookup(tx, tt.project, tt.idOrKey)
					if i != nil {
						m = &i.Meta
					}
				}
				if tt.wantID == "" {
					wantErr(t, "Lookup", err, ErrNotFound)
					return nil
				}
				if err != nil || m.ID != tt.wantID {
					t.Errorf("Lookup(%q, %q) = %v, %v; want ID %s", tt.project, tt.idOrKey, m, err, tt.wantID)
				}
				return nil
			})
		})
	}
}

func TestKindDelete(t *testing.T) {
	db := openTestDB(t)
	instances := instanceKind()
	web := &instance{Meta: Meta{Name: "web", ProjectID: "p1"}}
	mustUpdate(t, db, func(tx *Tx) error { return instances.Create(tx, web) })
	mustUpdate(t, db, func(tx *Tx) error { return instances.Delete(tx, web.ID) })

	db.View(func(tx *Tx) error {
		_, err := instances.Get(tx, web.ID)
		wantErr(t, "Get after Delete", err, ErrNotFound)
		n, err := instances.Count(tx, "p1")
		if err != nil || n != 0 {
			t.Errorf("Count(p1) after Delete = %d, %v; want 0", n, err)
		}
		return nil
	})
	err := db.Update(func(tx *Tx) error { return instances.Delete(tx, web.ID) })
	wantErr(t, "second Delete", err, ErrNotFound)
	mustUpdate(t, db, createInstance("web", "p1")) // the name is free again
}

func TestNewKindPanics(t *testing.T) {
	tests := []struct {
		name   string
		bucket string
		scope  Scope
	}{
		{"unknown bucket", "widgets", ScopeProject},
		{"special bucket", "events", ScopeProject},
		{"wrong scope", BucketFlavors, ScopeProject},
		{"zero scope", BucketInstances, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewKind(%q, %v) did not panic", tt.bucket, tt.scope)
				}
			}()
			NewKind[instance](tt.bucket, tt.scope)
		})
	}
}

func TestKindWriteInReadOnlyTx(t *testing.T) {
	db := openTestDB(t)
	if err := db.View(createInstance("web", "p1")); err == nil {
		t.Error("Create in a View transaction succeeded")
	}
}

// taggedMeta embeds Meta under a key, which would hide the ID from the indexes.
type taggedMeta struct {
	Meta `json:"meta"`
}

func TestKindRejectsRecordWithNestedMeta(t *testing.T) {
	db := openTestDB(t)
	err := db.Update(func(tx *Tx) error {
		return NewKind[taggedMeta](BucketImages, ScopeProject).Create(tx, &taggedMeta{})
	})
	if err == nil {
		t.Error("Create of a record whose Meta is not at the top level succeeded")
	}
}
