package store

import (
	"fmt"
	"strconv"
)

// A cursor is how far a reader of the event log (e.g. webhook delivery) has got: the last event
// Seq it handled, kept in the meta bucket under "cursor/<name>" so that it survives a restart.

// ReadCursor returns the cursor name, or 0 when it was never written.
func ReadCursor(tx *Tx, name string) (uint64, error) {
	meta := tx.btx.Bucket([]byte(bucketMeta))
	if meta == nil {
		return 0, faultf(ErrCorrupt, "catalog has no bucket %q (not migrated?)", bucketMeta)
	}
	raw := meta.Get(cursorKey(name))
	if raw == nil {
		return 0, nil
	}
	seq, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return 0, faultf(ErrCorrupt, "bad event cursor %s %q", name, raw)
	}
	return seq, nil
}

// WriteCursor sets the cursor name to seq.
func WriteCursor(tx *Tx, name string, seq uint64) error {
	if err := checkKey("cursor name", name); err != nil {
		return err
	}
	meta := tx.btx.Bucket([]byte(bucketMeta))
	if meta == nil {
		return faultf(ErrCorrupt, "catalog has no bucket %q (not migrated?)", bucketMeta)
	}
	if err := meta.Put(cursorKey(name), []byte(strconv.FormatUint(seq, 10))); err != nil {
		return fmt.Errorf("write event cursor %s: %w", name, err)
	}
	return nil
}

func cursorKey(name string) []byte { return []byte("cursor/" + name) }
