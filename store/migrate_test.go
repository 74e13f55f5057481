package store

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"
)

func TestOpenCreatesCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !db.Created() {
		t.Error("Created() = false on a new catalog")
	}
	if v, err := db.SchemaVersion(); err != nil || v != len(migrations()) {
		t.Errorf("SchemaVersion() = %d, %v; want %d", v, err, len(migrations()))
	}
	var got []string
	db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			got = append(got, string(name))
			return nil
		})
	})
	want := append(Buckets(), "events", "holds", "meta")
	if diff := cmp.Diff(want, got, sortStrings()); diff != "" {
		t.Errorf("top-level buckets (-want +got):\n%s", diff)
	}
	if fi := stat(t, path); fi.Mode().Perm() != 0o600 {
		t.Errorf("catalog mode %v, want 0600", fi.Mode().Perm())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if openTestDBAt(t, path).Created() {
		t.Error("Created() = true when reopening an existing catalog")
	}
}

// recordingMigration returns migration v, which fails if migration v-1 has not run before it and
// then records that it ran.
func recordingMigration(v int) migration {
	return migration{version: v, name: fmt.Sprintf("step %d", v), apply: func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("steps"))
		if err != nil {
			return err
		}
		if v > 2 && b.Get([]byte(fmt.Sprint(v-1))) == nil {
			return fmt.Errorf("step %d ran before step %d", v, v-1)
		}
		return b.Put([]byte(fmt.Sprint(v)), []byte("done"))
	}}
}

func TestMigrationsUpgradeStepByStep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	old := migrations()[:1]
	db, err := openWith(path, Options{}, old)
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, createInstance("web", "p1"))
	db.Close()

	future := append(migrations()[:1], recordingMigration(2), recordingMigration(3), recordingMigration(4))
	db, err = openWith(path, Options{}, future)
	if err != nil {
		t.Fatalf("open with newer migrations: %v", err)
	}
	defer db.Close()
	if v, _ := db.SchemaVersion(); v != 4 {
		t.Errorf("schema version after upgrade = %d, want 4", v)
	}
	if db.Created() {
		t.Error("Created() = true after upgrading an existing catalog")
	}
	db.View(func(tx *Tx) error {
		steps := tx.btx.Bucket([]byte("steps"))
		for v := 2; v <= 4; v++ {
			if steps == nil || steps.Get([]byte(fmt.Sprint(v))) == nil {
				t.Errorf("migration %d did not run", v)
			}
		}
		assertNames(t, tx, "p1", []string{"web"})
		return nil
	})
}

func TestMigrationFailureKeepsEarlierSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	boom := migration{version: 3, name: "boom", apply: func(tx *bbolt.Tx) error {
		tx.CreateBucket([]byte("half-done"))
		return errors.New("boom")
	}}
	_, err := openWith(path, Options{}, append(migrations()[:1], recordingMigration(2), boom))
	if err == nil || !strings.Contains(err.Error(), "migrate to schema version 3 (boom): boom") {
		t.Fatalf("open with a failing migration: %v", err)
	}

	db, err := openWith(path, Options{}, append(migrations()[:1], recordingMigration(2)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.SchemaVersion(); v != 2 {
		t.Errorf("schema version = %d, want 2 (the last migration that succeeded)", v)
	}
	db.View(func(tx *Tx) error {
		if tx.btx.Bucket([]byte("half-done")) != nil {
			t.Error("the failed migration's writes were committed")
		}
		return nil
	})
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := openWith(path, Options{}, append(migrations()[:1], recordingMigration(2), recordingMigration(3)))
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, db, createInstance("web", "p1"))
	db.Close()
	before := readFile(t, path)

	for _, readOnly := range []bool{false, true} {
		_, err = openWith(path, Options{ReadOnly: readOnly}, migrations()[:1])
		if !errors.Is(err, ErrNewerSchema) {
			t.Fatalf("open (read-only %v) with older migrations: %v, want ErrNewerSchema", readOnly, err)
		}
		for _, want := range []string{"schema version 3", "versions up to 1", "upgrade cloudlet"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Error("refusing a newer catalog changed the file")
	}
}

func TestValidMigrations(t *testing.T) {
	apply := func(*bbolt.Tx) error { return nil }
	tests := []struct {
		name string
		migs []migration
		ok   bool
	}{
		{"cloudlet's own", migrations(), true},
		{"empty", nil, true},
		{"gap", []migration{{version: 1, apply: apply}, {version: 3, apply: apply}}, false},
		{"starts at 0", []migration{{version: 0, apply: apply}}, false},
		{"out of order", []migration{{version: 2, apply: apply}, {version: 1, apply: apply}}, false},
		{"no apply", []migration{{version: 1}}, false},
	}
	for _, tt := range tests {
		if err := validMigrations(tt.migs); (err == nil) != tt.ok {
			t.Errorf("%s: validMigrations = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestOpenReadOnlyDoesNotMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := openWith(path, Options{}, migrations()[:1])
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := readFile(t, path)

	db, err = openWith(path, Options{ReadOnly: true}, append(migrations()[:1], recordingMigration(2)))
	if err != nil {
		t.Fatalf("read-only open of an older catalog: %v", err)
	}
	if v, _ := db.SchemaVersion(); v != 1 {
		t.Errorf("read-only open migrated the catalog to version %d", v)
	}
	if err := db.Update(func(*Tx) error { return nil }); err == nil {
		t.Error("Update on a read-only catalog succeeded")
	}
	db.Close()
	if !bytes.Equal(before, readFile(t, path)) {
		t.Error("read-only open changed the file")
	}
}

// TestMigrationThreeGivesACatalogFromBeforeItTheInstanceSecretsTable: a version-2 catalog made before
// the bucket existed gets it at open, and records can be written there.
func TestMigrationThreeGivesACatalogFromBeforeItTheInstanceSecretsTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	old, err := openWith(path, Options{}, migrations()[:2])
	if err != nil {
		t.Fatal(err)
	}
	if err := old.bolt.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte(BucketInstanceSecrets)) }); err != nil {
		t.Fatal(err)
	}
	old.Close()
	db := openTestDBAt(t, path)
	if v, _ := db.SchemaVersion(); v != len(migrations()) {
		t.Fatalf("schema version = %d, want %d", v, len(migrations()))
	}
	k := NewKind[instance](BucketInstanceSecrets, ScopeProject)
	mustUpdate(t, db, func(tx *Tx) error { return k.Create(tx, &instance{Meta: Meta{ID: "i1", ProjectID: "p1"}}) })
}

// TestMigrationFourGivesACatalogFromBeforeItTheWebhooksTables: a version-3 catalog made before the
// webhooks buckets existed gets them at open (schema version 4), and records can be written there.
func TestMigrationFourGivesACatalogFromBeforeItTheWebhooksTables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	old, err := openWith(path, Options{}, migrations()[:3])
	if err != nil {
		t.Fatal(err)
	}
	err = old.bolt.Update(func(tx *bbolt.Tx) error {
		return errors.Join(tx.DeleteBucket([]byte(BucketWebhooks)), tx.DeleteBucket([]byte(BucketWebhookSecrets)))
	})
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	db := openTestDBAt(t, path)
	if v, _ := db.SchemaVersion(); v != 4 {
		t.Fatalf("schema version = %d, want 4", v)
	}
	for _, b := range []string{BucketWebhooks, BucketWebhookSecrets} {
		k := NewKind[instance](b, ScopeProject)
		mustUpdate(t, db, func(tx *Tx) error { return k.Create(tx, &instance{Meta: Meta{ID: "w1", ProjectID: "p1"}}) })
	}
}
