package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStatsCountRecordsPerBucketAndSize(t *testing.T) {
	db := openTestDB(t)
	mustUpdate(t, db, func(tx *Tx) error {
		for _, name := range []string{"a", "b", "c"} {
			if err := instanceKind().Create(tx, &instance{Meta: Meta{Name: name, ProjectID: "p1"}}); err != nil {
				return err
			}
		}
		return flavorKind().Create(tx, &flavor{Meta: Meta{Name: "small"}, VCPUs: 1})
	})
	st, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Records[BucketInstances] != 3 || st.Records[BucketFlavors] != 1 || st.Records[BucketVolumes] != 0 {
		t.Errorf("records = %v, want 3 instances, 1 flavor, 0 volumes", st.Records)
	}
	if len(st.Records) != len(Buckets()) {
		t.Errorf("records name %d buckets, want every record bucket (%d)", len(st.Records), len(Buckets()))
	}
	fi, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if st.SizeBytes <= 0 || st.SizeBytes > fi.Size() {
		t.Errorf("size = %d, want >0 and at most the file's %d bytes", st.SizeBytes, fi.Size())
	}
}

func TestObserveWriteSeesEveryUpdate(t *testing.T) {
	type write struct {
		d         time.Duration
		committed bool
	}
	var got []write
	db, err := Open(filepath.Join(t.TempDir(), "catalog.db"), Options{ObserveWrite: func(d time.Duration, committed bool) {
		got = append(got, write{d, committed})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got = nil // migrations at Open run their own transactions
	mustUpdate(t, db, func(*Tx) error { return nil })
	boom := errors.New("boom")
	if err := db.Update(func(*Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	if len(got) != 2 || !got[0].committed || got[1].committed || got[0].d < 0 || got[1].d < 0 {
		t.Errorf("observed %+v, want one commit then one rollback", got)
	}
}

// BenchmarkStats is the cost of one catalog statistics read (each scrape at most every 10 s)
// on a catalog of 10k instances.
func BenchmarkStats(b *testing.B) {
	db := benchCatalog(b, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Stats(); err != nil {
			b.Fatal(err)
		}
	}
}
