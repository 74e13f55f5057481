package store

import (
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// Stats describe the catalog for metrics: its size and how many records each bucket holds.
type Stats struct {
	SizeBytes int64          // the data file's size as the reading transaction sees it
	Records   map[string]int // record bucket (Buckets) → number of records
}

// Stats reads the catalog's size and record counts in one read transaction. The counts walk each
// bucket's pages, not its records (bbolt's bucket statistics): cheap enough to read now and then,
// not on every request.
func (db *DB) Stats() (Stats, error) {
	st := Stats{Records: map[string]int{}}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		st.SizeBytes = tx.Size()
		for _, name := range Buckets() {
			if top := tx.Bucket([]byte(name)); top != nil {
				if recs := top.Bucket([]byte(subRecords)); recs != nil {
					st.Records[name] = recs.Stats().KeyN
				}
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("catalog statistics of %s: %w", db.path, err)
	}
	return st, nil
}

// WriteObserver is told how long each Update took, from its start (waiting for the one writer
// included) to its commit or rollback, and whether it committed. It must not block.
type WriteObserver func(d time.Duration, committed bool)

// observeWrite reports one Update to the observer set in Options, if any.
func (db *DB) observeWrite(start time.Time, err error) {
	if db.observe != nil {
		db.observe(time.Since(start), err == nil)
	}
}
