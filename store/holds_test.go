package store

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// holdingInstances is the instance kind whose records hold their flavor.
func holdingInstances() Kind[instance, *instance] {
	return instanceKind().Holding(func(in *instance) []Ref {
		if in.Flavor == "" {
			return nil
		}
		return []Ref{{BucketFlavors, in.Flavor}}
	})
}

func holdersOfFlavor(t *testing.T, db *DB, id string) []Holder {
	t.Helper()
	var out []Holder
	if err := db.View(func(tx *Tx) (err error) { out, err = Holders(tx, Ref{BucketFlavors, id}); return err }); err != nil {
		t.Fatal(err)
	}
	return out
}

func seal(db *DB, id string) (holders []Holder, err error) {
	err = db.Update(func(tx *Tx) error { holders, err = Seal(tx, Ref{BucketFlavors, id}); return err })
	return holders, err
}

func TestAHoldIsKeptWithItsHolderInEveryWrite(t *testing.T) {
	db, k := openTestDB(t), holdingInstances()
	mustUpdate(t, db, func(tx *Tx) error { return flavorKind().Create(tx, &flavor{Meta: Meta{ID: "f1", Name: "small"}}) })
	in := &instance{Meta: Meta{ID: "i1", Name: "web", ProjectID: "p1"}, Flavor: "f1"}
	mustUpdate(t, db, func(tx *Tx) error { return k.Create(tx, in) })
	want := []Holder{{Bucket: BucketInstances, ID: "i1", Name: "web", ProjectID: "p1"}}
	if diff := cmp.Diff(want, holdersOfFlavor(t, db, "f1")); diff != "" {
		t.Errorf("holders after create (-want +got):\n%s", diff)
	}
	in.Name = "www"
	mustUpdate(t, db, func(tx *Tx) error { return k.Update(tx, in) })
	if got := holdersOfFlavor(t, db, "f1"); len(got) != 1 || got[0].Name != "www" || got[0].Noun() != "instance" {
		t.Errorf("holders after a rename = %+v, want the instance under its new name", got)
	}
	in.Flavor = ""
	mustUpdate(t, db, func(tx *Tx) error { return k.Update(tx, in) })
	if got := holdersOfFlavor(t, db, "f1"); len(got) != 0 {
		t.Errorf("holders after the instance let go = %+v, want none", got)
	}
	in.Flavor = "f1"
	mustUpdate(t, db, func(tx *Tx) error { return k.Update(tx, in) })
	mustUpdate(t, db, func(tx *Tx) error { return k.Delete(tx, "i1") })
	if got := holdersOfFlavor(t, db, "f1"); len(got) != 0 {
		t.Errorf("holders after the instance's delete = %+v, want none", got)
	}
}

func TestAHoldOnAMissingRecordFailsTheWrite(t *testing.T) {
	db := openTestDB(t)
	err := db.Update(func(tx *Tx) error {
		return holdingInstances().Create(tx, &instance{Meta: Meta{ID: "i1", Name: "web", ProjectID: "p1"}, Flavor: "nope"})
	})
	wantErr(t, "create holding a missing flavor", err, ErrNotFound)
	mustUpdate(t, db, func(tx *Tx) error {
		if _, err := instanceKind().Get(tx, "i1"); err == nil {
			t.Error("the refused record was written")
		}
		return nil
	})
}

func TestSealRefusesAHeldRecordAndThenEveryNewHoldUntilTheRecordGoes(t *testing.T) {
	db, k := openTestDB(t), holdingInstances()
	mustUpdate(t, db, func(tx *Tx) error { return flavorKind().Create(tx, &flavor{Meta: Meta{ID: "f1", Name: "small"}}) })
	mustUpdate(t, db, func(tx *Tx) error {
		return k.Create(tx, &instance{Meta: Meta{ID: "i1", Name: "web", ProjectID: "p1"}, Flavor: "f1"})
	})
	if holders, err := seal(db, "f1"); err != nil || len(holders) != 1 || holders[0].ID != "i1" {
		t.Fatalf("Seal of a held flavor = %+v, %v; want its holder", holders, err)
	}
	mustUpdate(t, db, func(tx *Tx) error { return k.Delete(tx, "i1") })
	if holders, err := seal(db, "f1"); err != nil || len(holders) != 0 {
		t.Fatalf("Seal of a free flavor = %+v, %v; want it sealed", holders, err)
	}
	err := db.Update(func(tx *Tx) error {
		return k.Create(tx, &instance{Meta: Meta{ID: "i2", Name: "late", ProjectID: "p1"}, Flavor: "f1"})
	})
	wantErr(t, "a new hold on a sealed flavor", err, ErrConflict)
	mustUpdate(t, db, func(tx *Tx) error { return flavorKind().Delete(tx, "f1") })
	mustUpdate(t, db, func(tx *Tx) error { return flavorKind().Create(tx, &flavor{Meta: Meta{ID: "f1", Name: "small"}}) })
	mustUpdate(t, db, func(tx *Tx) error {
		return k.Create(tx, &instance{Meta: Meta{ID: "i2", Name: "late", ProjectID: "p1"}, Flavor: "f1"})
	})
}

// TestMigrationTwoAddsTheHoldsTableAndSyncHoldsFillsItForOlderRecords: a catalog from before the
// holds table gets it at open; the holding kind's SyncHolds then records what its records hold,
// drops the holds of records gone, and changes nothing when run again.
func TestMigrationTwoAddsTheHoldsTableAndSyncHoldsFillsItForOlderRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	old, err := openWith(path, Options{}, migrations()[:1])
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, old, func(tx *Tx) error {
		if err := flavorKind().Create(tx, &flavor{Meta: Meta{ID: "f1", Name: "small"}}); err != nil {
			return err
		}
		for _, id := range []string{"i1", "i2"} {
			if err := instanceKind().Create(tx, &instance{Meta: Meta{ID: id, Name: id, ProjectID: "p1"}, Flavor: "f1"}); err != nil {
				return err
			}
		}
		return nil
	})
	old.Close()

	db := openTestDBAt(t, path)
	if v, _ := db.SchemaVersion(); v != len(migrations()) {
		t.Fatalf("schema version = %d, want %d", v, len(migrations()))
	}
	if got := holdersOfFlavor(t, db, "f1"); len(got) != 0 {
		t.Fatalf("holders before SyncHolds = %+v", got)
	}
	sync := func(tx *Tx) error { return holdingInstances().SyncHolds(tx) }
	mustUpdate(t, db, sync)
	want := []Holder{{Bucket: BucketInstances, ID: "i1", Name: "i1", ProjectID: "p1"}, {Bucket: BucketInstances, ID: "i2", Name: "i2", ProjectID: "p1"}}
	if diff := cmp.Diff(want, holdersOfFlavor(t, db, "f1")); diff != "" {
		t.Errorf("holders after SyncHolds (-want +got):\n%s", diff)
	}
	mustUpdate(t, db, func(tx *Tx) error { return instanceKind().Delete(tx, "i2") }) // a kind that does not know it holds
	mustUpdate(t, db, sync)
	mustUpdate(t, db, sync)
	if diff := cmp.Diff(want[:1], holdersOfFlavor(t, db, "f1")); diff != "" {
		t.Errorf("holders after a holder went and two more SyncHolds (-want +got):\n%s", diff)
	}
}

// Check reports a hold whose holder is gone (a holder's delete drops its holds in the same
// transaction, so only damage or a kind that forgot what it holds leaves one).
func TestCheckReportsAHoldWhoseHolderIsGone(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "catalog.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustUpdate(t, db, func(tx *Tx) error { return flavorKind().Create(tx, &flavor{Meta: Meta{ID: "f1", Name: "small"}}) })
	mustUpdate(t, db, func(tx *Tx) error {
		return holdingInstances().Create(tx, &instance{Meta: Meta{ID: "i1", Name: "web", ProjectID: "p1"}, Flavor: "f1"})
	})
	if err := db.Check(); err != nil {
		t.Fatalf("Check of a consistent catalog: %v", err)
	}
	mustUpdate(t, db, func(tx *Tx) error { return instanceKind().Delete(tx, "i1") })
	err = db.Check()
	wantErr(t, "Check", err, ErrCorrupt)
	if err == nil || !strings.Contains(err.Error(), "holds: instance i1 holds flavor f1 but does not exist") {
		t.Errorf("Check = %v, want the stale hold named", err)
	}
}
