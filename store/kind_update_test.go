package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"
)

func TestKindUpdate(t *testing.T) {
	db := openTestDB(t)
	instances := instanceKind()
	rec := &instance{Meta: Meta{Name: "web", ProjectID: "p1"}, Flavor: "m1.small"}
	mustUpdate(t, db, func(tx *Tx) error { return instances.Create(tx, rec) })

	rec.Flavor = "m1.large"
	rec.CreatedAt = time.Time{} // callers cannot rewrite history
	mustUpdate(t, db, func(tx *Tx) error { return instances.Update(tx, rec) })

	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	want := &instance{
		Meta: Meta{ID: rec.ID, Name: "web", ProjectID: "p1", CreatedAt: created,
			UpdatedAt: created.Add(time.Second), Revision: 2},
		Flavor: "m1.large",
	}
	db.View(func(tx *Tx) error {
		got, err := instances.Get(tx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Get after Update (-want +got):\n%s", diff)
		}
		return nil
	})
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("record after Update (-want +got):\n%s", diff)
	}
}

func TestKindUpdateStaleRevision(t *testing.T) {
	db := openTestDB(t)
	instances := instanceKind()
	rec := &instance{Meta: Meta{Name: "web", ProjectID: "p1"}}
	mustUpdate(t, db, func(tx *Tx) error { return instances.Create(tx, rec) })

	stale := *rec
	rec.Flavor = "first"
	mustUpdate(t, db, func(tx *Tx) error { return instances.Update(tx, rec) })
	stale.Flavor = "second"
	err := db.Update(func(tx *Tx) error { return instances.Update(tx, &stale) })
	wantErr(t, "Update with stale revision", err, ErrConflict)

	db.View(func(tx *Tx) error {
		got, _ := instances.Get(tx, rec.ID)
		if got.Flavor != "first" || got.Revision != 2 {
			t.Errorf("stored record = flavor %q revision %d; want the first update (revision 2)", got.Flavor, got.Revision)
		}
		return nil
	})
}

func TestKindUpdateMissing(t *testing.T) {
	db := openTestDB(t)
	err := db.Update(func(tx *Tx) error {
		return instanceKind().Update(tx, &instance{Meta: Meta{ID: NewID(), Revision: 1}})
	})
	wantErr(t, "Update of a missing record", err, ErrNotFound)
}

func TestKindRenameMovesIndex(t *testing.T) {
	db := openTestDB(t)
	instances := instanceKind()
	web := &instance{Meta: Meta{Name: "web", ProjectID: "p1"}}
	db2 := &instance{Meta: Meta{Name: "db", ProjectID: "p1"}}
	mustUpdate(t, db, func(tx *Tx) error { return errors.Join(instances.Create(tx, web), instances.Create(tx, db2)) })

	web.Name = "api"
	mustUpdate(t, db, func(tx *Tx) error { return instances.Update(tx, web) })
	db.View(func(tx *Tx) error {
		_, err := instances.Lookup(tx, "p1", "web")
		wantErr(t, "Lookup old name", err, ErrNotFound)
		got, err := instances.Lookup(tx, "p1", "api")
		if err != nil || got.ID != web.ID {
			t.Errorf("Lookup new name = %v, %v; want %s", got, err, web.ID)
		}
		return nil
	})
	mustUpdate(t, db, createInstance("web", "p1")) // the old name is free

	web.Name = "db"
	err := db.Update(func(tx *Tx) error { return instances.Update(tx, web) })
	wantErr(t, "rename onto a taken name", err, ErrConflict)
	web.Name = "api"
	web.Flavor = "unchanged name"
	mustUpdate(t, db, func(tx *Tx) error { return instances.Update(tx, web) })
}

func TestKindProjectTransfer(t *testing.T) {
	db := openTestDB(t)
	instances := instanceKind()
	web := &instance{Meta: Meta{Name: "web", ProjectID: "p1"}}
	mustUpdate(t, db, func(tx *Tx) error { return instances.Create(tx, web) })

	web.ProjectID = "p2"
	mustUpdate(t, db, func(tx *Tx) error { return instances.Update(tx, web) })
	db.View(func(tx *Tx) error {
		assertNames(t, tx, "p1", nil)
		assertNames(t, tx, "p2", []string{"web"})
		if _, err := instances.Lookup(tx, "p2", "web"); err != nil {
			t.Errorf("Lookup in the new project: %v", err)
		}
		_, err := instances.Lookup(tx, "p1", "web")
		wantErr(t, "Lookup in the old project", err, ErrNotFound)
		return nil
	})

	mustUpdate(t, db, createInstance("web", "p3"))
	web.ProjectID = "p3"
	err := db.Update(func(tx *Tx) error { return instances.Update(tx, web) })
	wantErr(t, "transfer into a project where the name is taken", err, ErrConflict)
}

func TestKindListSortedAndCount(t *testing.T) {
	db := openTestDB(t)
	instances := instanceKind()
	unnamed := []*instance{
		{Meta: Meta{ID: "00000000-0000-4000-8000-00000000000b", ProjectID: "p1"}},
		{Meta: Meta{ID: "00000000-0000-4000-8000-00000000000a", ProjectID: "p1"}},
	}
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(
			createInstance("web", "p1")(tx), createInstance("api", "p1")(tx), createInstance("db", "p1")(tx),
			createInstance("web", "p2")(tx), createInstance("lonely", "")(tx),
			instances.Create(tx, unnamed[0]), instances.Create(tx, unnamed[1]),
		)
	})
	db.View(func(tx *Tx) error {
		assertNames(t, tx, "p1", []string{"", "", "api", "db", "web"})
		assertNames(t, tx, "p2", []string{"web"})
		assertNames(t, tx, "p9", nil)
		assertNames(t, tx, "", []string{"", "", "api", "db", "lonely", "web", "web"})

		list, _ := instances.List(tx, "p1")
		if list[0].ID != unnamed[1].ID {
			t.Errorf("records with equal names are not sorted by ID: first is %s", list[0].ID)
		}
		for project, want := range map[string]int{"p1": 5, "p2": 1, "p9": 0, "": 7} {
			if got, err := instances.Count(tx, project); err != nil || got != want {
				t.Errorf("Count(%q) = %d, %v; want %d", project, got, err, want)
			}
		}
		return nil
	})
}

// assertNames compares the names List returns for project with want.
func assertNames(t *testing.T, tx *Tx, project string, want []string) {
	t.Helper()
	list, err := instanceKind().List(tx, project)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range list {
		got = append(got, r.Name)
	}
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(%q) names (-want +got):\n%s", project, diff)
	}
}

// TestKindListUsesProjectIndex plants a record that is missing from the projects index: a
// project's List must not see it (it reads the index, not every record), the full List must.
func TestKindListUsesProjectIndex(t *testing.T) {
	db := openTestDB(t)
	const id = "00000000-0000-4000-8000-000000000001"
	plant := func(tx *bbolt.Tx) error {
		records := tx.Bucket([]byte(BucketInstances)).Bucket([]byte(subRecords))
		return records.Put([]byte(id), []byte(`{"id":"`+id+`","project_id":"p1"}`))
	}
	if err := db.rawUpdate(plant); err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		assertNames(t, tx, "p1", nil)
		assertNames(t, tx, "", []string{""})
		return nil
	})
	mustUpdate(t, db, func(tx *Tx) error { return instanceKind().Delete(tx, id) })
}

func TestKindForEachMayDelete(t *testing.T) {
	db := openTestDB(t)
	instances := instanceKind()
	mustUpdate(t, db, func(tx *Tx) error {
		return errors.Join(createInstance("a", "p1")(tx), createInstance("b", "p1")(tx), createInstance("c", "p2")(tx))
	})
	var seen []string
	mustUpdate(t, db, func(tx *Tx) error {
		return instances.ForEach(tx, func(r *instance) error {
			seen = append(seen, r.Name)
			return instances.Delete(tx, r.ID)
		})
	})
	if len(seen) != 3 {
		t.Errorf("ForEach saw %v, want all three records", seen)
	}
	db.View(func(tx *Tx) error {
		assertNames(t, tx, "", nil)
		return nil
	})

	stop := errors.New("stop")
	mustUpdate(t, db, func(tx *Tx) error { return errors.Join(createInstance("a", "p1")(tx), createInstance("b", "p1")(tx)) })
	calls := 0
	err := db.View(func(tx *Tx) error {
		return instances.ForEach(tx, func(*instance) error { calls++; return stop })
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ForEach returning an error: err %v after %d calls; want stop after 1", err, calls)
	}
}
