package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkListVsCursorScan measures Kind.List + JSON encoding of every record against the baseline a
// hand-written bbolt cursor scan + decode + encode gives, interleaved in the same run (A B A B …), and
// reports both per-op times and their ratio (store/baseline). It is the catalog half of benchmark B5.
func BenchmarkListVsCursorScan(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			db := benchCatalog(b, n)
			kind := instanceKind()
			var storeTime, baseTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				storeTime += timed(b, db, func(tx *Tx) (int, error) {
					recs, err := kind.List(tx, "")
					if err != nil {
						return 0, err
					}
					out, err := json.Marshal(recs)
					return len(out), err
				})
				baseTime += timed(b, db, cursorScan)
			}
			b.ReportMetric(float64(storeTime.Nanoseconds())/float64(b.N), "store-ns/op")
			b.ReportMetric(float64(baseTime.Nanoseconds())/float64(b.N), "baseline-ns/op")
			b.ReportMetric(float64(storeTime)/float64(baseTime), "ratio")
		})
	}
}

func cursorScan(tx *Tx) (int, error) {
	c := tx.btx.Bucket([]byte(BucketInstances)).Bucket([]byte(subRecords)).Cursor()
	var recs []*instance
	for k, v := c.First(); k != nil; k, v = c.Next() {
		rec := new(instance)
		if err := json.Unmarshal(v, rec); err != nil {
			return 0, err
		}
		recs = append(recs, rec)
	}
	out, err := json.Marshal(recs)
	return len(out), err
}

func timed(b *testing.B, db *DB, fn func(*Tx) (int, error)) time.Duration {
	start := time.Now()
	err := db.View(func(tx *Tx) error {
		n, err := fn(tx)
		if n == 0 && err == nil {
			err = fmt.Errorf("listed nothing")
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

func benchCatalog(b *testing.B, n int) *DB {
	b.Helper()
	db, err := Open(filepath.Join(b.TempDir(), "catalog.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	kind := instanceKind()
	err = db.Update(func(tx *Tx) error {
		for i := 0; i < n; i++ {
			rec := &instance{Meta: Meta{Name: fmt.Sprintf("vm-%05d", i), ProjectID: fmt.Sprintf("p%d", i%10)}, Flavor: "m1.small"}
			if err := kind.Create(tx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db
}
