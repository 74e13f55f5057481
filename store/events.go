package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"go.etcd.io/bbolt"
)

// Event is one entry of the catalog's append-only event log (served as /api/v1/events).
type Event struct {
	Seq       uint64          `json:"seq"`  // assigned by AppendEvent, increasing
	Time      time.Time       `json:"time"` // the transaction's time
	Type      string          `json:"type"` // e.g. "instance.created"
	Kind      string          `json:"kind,omitempty"`
	ID        string          `json:"id,omitempty"`
	ProjectID string          `json:"project_id,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// AppendEvent adds e to the log, setting e.Seq and e.Time. Appended in the same transaction as
// the change it describes, an event is visible exactly when the change is.
func AppendEvent(tx *Tx, e *Event) error {
	if e.Type == "" {
		return faultf(ErrInvalid, "append event: empty type")
	}
	b, err := eventsBucket(tx)
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("append event %s: %w", e.Type, err)
	}
	e.Seq, e.Time = seq, tx.Now()
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("append event %s: %w", e.Type, err)
	}
	if err := b.Put(seqKey(seq), raw); err != nil {
		return fmt.Errorf("append event %s: %w", e.Type, err)
	}
	tx.appended = true
	return nil
}

// EventsSince returns the events with Seq greater than seq, oldest first, at most limit of them
// (limit <= 0: all).
func (db *DB) EventsSince(seq uint64, limit int) ([]Event, error) {
	events := []Event{}
	err := db.View(func(tx *Tx) error {
		b, err := eventsBucket(tx)
		if err != nil {
			return err
		}
		if seq == math.MaxUint64 {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(seq + 1)); k != nil && (limit <= 0 || len(events) < limit); k, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return faultf(ErrCorrupt, "event %d: undecodable JSON: %v", binary.BigEndian.Uint64(k), err)
			}
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events since %d: %w", seq, err)
	}
	return events, nil
}

// PruneEvents deletes the oldest events so that at most keep remain, and returns how many went.
// Sequence numbers are never reused.
func PruneEvents(tx *Tx, keep int) (int, error) {
	if keep < 0 {
		return 0, faultf(ErrInvalid, "prune events: keep %d is negative", keep)
	}
	b, err := eventsBucket(tx)
	if err != nil {
		return 0, err
	}
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	var doomed [][]byte
	for k, _ := c.First(); k != nil && len(doomed) < n-keep; k, _ = c.Next() {
		doomed = append(doomed, append([]byte(nil), k...)) // keys are only valid until the bucket changes
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("prune events: delete %d: %w", binary.BigEndian.Uint64(k), err)
		}
	}
	return len(doomed), nil
}

func eventsBucket(tx *Tx) (*bbolt.Bucket, error) {
	b := tx.btx.Bucket([]byte(bucketEvents))
	if b == nil {
		return nil, faultf(ErrCorrupt, "catalog has no bucket %q (not migrated?)", bucketEvents)
	}
	return b, nil
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
