package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/bbolt"
)

// Holds: a record of one kind may hold records of other kinds (a volume holds the image its chain
// is based on). A kind declares what its records hold ([Kind.Holding]); store keeps the holds in
// the transaction that writes or deletes the holder, so they are never out of step with it. The
// held record's owner asks who holds it ([Holders]) and, in the transaction that begins its
// delete, seals it ([Seal]): no holder then, and no new hold after, until the record is deleted.
// Neither side imports the other; both name the other only by bucket and ID.
//
//	holds/by_holder/  holderBucket \x00 holderID \x00 heldBucket \x00 heldID → empty
//	holds/by_held/    heldBucket \x00 heldID \x00 holderBucket \x00 holderID → JSON holderName
//	holds/sealed/     heldBucket \x00 heldID → empty
const (
	bucketHolds = "holds"
	subByHolder = "by_holder"
	subByHeld   = "by_held"
	subSealed   = "sealed"
)

// Ref names a record by its bucket (a Bucket* constant) and ID.
type Ref struct {
	Bucket string
	ID     string
}

// Holder is a record that holds another, as the holds remember it (refreshed at its every write).
type Holder struct {
	Bucket    string `json:"-"`
	ID        string `json:"-"`
	Name      string `json:"name,omitempty"`
	ProjectID string `json:"project_id,omitempty"`
}

// Noun is the holder's kind in messages ("volume", "snapshot").
func (h Holder) Noun() string { return noun(h.Bucket) }

// Holding returns k with what its records hold: fn's references, kept by every Create, Update and
// Delete of the kind. A new hold (one the record did not have before) on a missing or sealed
// record fails the write: ErrNotFound or ErrConflict.
func (k Kind[T, P]) Holding(fn func(P) []Ref) Kind[T, P] {
	k.holds = fn
	return k
}

// Holders returns the records that hold held, ordered by bucket and ID.
func Holders(tx *Tx, held Ref) ([]Holder, error) {
	h, err := holdTables(tx.btx)
	if err != nil {
		return nil, err
	}
	return holdersOf(h, held)
}

// Seal forbids new holds on held, unless it has holders: then it changes nothing and returns
// them. Call it in the transaction that begins held's delete; deleting the record lifts the seal.
func Seal(tx *Tx, held Ref) ([]Holder, error) {
	h, err := holdTables(tx.btx)
	if err != nil {
		return nil, err
	}
	holders, err := holdersOf(h, held)
	if err != nil || len(holders) > 0 {
		return holders, err
	}
	if err := h.sealed.Put(refKey(held), []byte{}); err != nil {
		return nil, fmt.Errorf("seal %s %s: %w", noun(held.Bucket), held.ID, err)
	}
	return nil, nil
}

// SyncHolds makes the holds of every record of k what k's function says, and drops the holds of
// records gone, without refusing a hold on a missing record. It builds the holds of records
// written before their kind declared them (a catalog older than the holds table); it is
// idempotent.
func (k Kind[T, P]) SyncHolds(tx *Tx) error {
	if k.holds == nil {
		return nil
	}
	h, err := holdTables(tx.btx)
	if err != nil {
		return err
	}
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	prefix := []byte(k.bucket + "\x00")
	c := h.byHolder.Cursor()
	for key, _ := c.Seek(prefix); key != nil && bytes.HasPrefix(key, prefix); key, _ = c.Next() {
		if id, _, _ := strings.Cut(string(key[len(prefix):]), "\x00"); t.records.Get([]byte(id)) == nil {
			gone[id] = true
		}
	}
	for id := range gone {
		if err := h.write(Holder{Bucket: k.bucket, ID: id}, nil, false); err != nil {
			return err
		}
	}
	return k.ForEach(tx, func(rec P) error { return k.writeHolds(h, rec, false) })
}

// writeHolds records rec's holds (check: refusing new ones on missing or sealed records).
func (k Kind[T, P]) writeHolds(h *holdBuckets, rec P, check bool) error {
	m := rec.StoreMeta()
	holder := Holder{Bucket: k.bucket, ID: m.ID, Name: m.Name, ProjectID: m.ProjectID}
	return h.write(holder, k.holds(rec), check)
}

// afterWrite keeps the holds of a record just created or updated.
func (k Kind[T, P]) afterWrite(tx *Tx, rec P) error {
	if k.holds == nil {
		return nil
	}
	h, err := holdTables(tx.btx)
	if err != nil {
		return err
	}
	return k.writeHolds(h, rec, true)
}

// afterDelete drops the holds of a deleted record and lifts its seal. A catalog without the holds
// table (one opened at an older schema, in tests) has neither.
func (k Kind[T, P]) afterDelete(tx *Tx, id string) error {
	h, err := holdTables(tx.btx)
	if err != nil {
		if k.holds == nil && tx.btx.Bucket([]byte(bucketHolds)) == nil {
			return nil
		}
		return err
	}
	if k.holds != nil {
		if err := h.write(Holder{Bucket: k.bucket, ID: id}, nil, false); err != nil {
			return err
		}
	}
	return h.sealed.Delete(refKey(Ref{k.bucket, id}))
}

type holdBuckets struct {
	tx                       *bbolt.Tx
	byHolder, byHeld, sealed *bbolt.Bucket
}

func holdTables(tx *bbolt.Tx) (*holdBuckets, error) {
	top := tx.Bucket([]byte(bucketHolds))
	if top == nil {
		return nil, faultf(ErrCorrupt, "catalog has no bucket %q (not migrated?)", bucketHolds)
	}
	h := &holdBuckets{tx: tx, byHolder: top.Bucket([]byte(subByHolder)), byHeld: top.Bucket([]byte(subByHeld)),
		sealed: top.Bucket([]byte(subSealed))}
	if h.byHolder == nil || h.byHeld == nil || h.sealed == nil {
		return nil, faultf(ErrCorrupt, "catalog bucket %q lacks a sub-bucket", bucketHolds)
	}
	return h, nil
}

// createHoldBuckets is migration 2: the holds table, empty (each kind that holds builds its own
// rows with SyncHolds).
func createHoldBuckets(tx *bbolt.Tx) error {
	top, err := tx.CreateBucketIfNotExists([]byte(bucketHolds))
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketHolds, err)
	}
	for _, sub := range []string{subByHolder, subByHeld, subSealed} {
		if _, err := top.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return fmt.Errorf("create bucket %s/%s: %w", bucketHolds, sub, err)
		}
	}
	return nil
}

// write makes holder hold exactly refs, and refreshes its name and project on each.
func (h *holdBuckets) write(holder Holder, refs []Ref, check bool) error {
	self := refKey(Ref{holder.Bucket, holder.ID})
	prefix := append(self, 0)
	had := map[Ref]bool{}
	c := h.byHolder.Cursor()
	for key, _ := c.Seek(prefix); key != nil && bytes.HasPrefix(key, prefix); key, _ = c.Next() {
		had[parseRef(key[len(prefix):])] = true
	}
	want := map[Ref]bool{}
	for _, r := range refs {
		if err := checkKey("held id", r.ID); err != nil {
			return err
		}
		if check && !had[r] {
			if err := h.holdable(r); err != nil {
				return err
			}
		}
		want[r] = true
	}
	for r := range had {
		if !want[r] {
			if err := h.put(self, r, nil); err != nil {
				return err
			}
		}
	}
	val, err := json.Marshal(holder)
	if err != nil {
		return err
	}
	for r := range want {
		if had[r] && bytes.Equal(h.byHeld.Get(append(append(refKey(r), 0), self...)), val) {
			continue // unchanged: no page written
		}
		if err := h.put(self, r, val); err != nil {
			return err
		}
	}
	return nil
}

// put writes (val non-nil) or deletes the two rows of one hold.
func (h *holdBuckets) put(holder []byte, held Ref, val []byte) error {
	fwd := append(append(append([]byte{}, holder...), 0), refKey(held)...)
	rev := append(append(refKey(held), 0), holder...)
	if val == nil {
		if err := h.byHolder.Delete(fwd); err != nil {
			return err
		}
		return h.byHeld.Delete(rev)
	}
	if err := h.byHolder.Put(fwd, []byte{}); err != nil {
		return err
	}
	return h.byHeld.Put(rev, val)
}

// holdable refuses a new hold on a missing or sealed record.
func (h *holdBuckets) holdable(r Ref) error {
	t, err := kindTables(h.tx, r.Bucket)
	if err != nil {
		return err
	}
	if t.records.Get([]byte(r.ID)) == nil {
		return faultf(ErrNotFound, "%s %s not found", noun(r.Bucket), quoteShort(r.ID))
	}
	if h.sealed.Get(refKey(r)) != nil {
		return faultf(ErrConflict, "%s %s is being deleted", noun(r.Bucket), r.ID)
	}
	return nil
}

func holdersOf(h *holdBuckets, held Ref) ([]Holder, error) {
	var out []Holder
	prefix := append(refKey(held), 0)
	c := h.byHeld.Cursor()
	for key, val := c.Seek(prefix); key != nil && bytes.HasPrefix(key, prefix); key, val = c.Next() {
		var hd Holder
		if err := json.Unmarshal(val, &hd); err != nil {
			return nil, fmt.Errorf("holders of %s %s: %w: %v", noun(held.Bucket), held.ID, ErrCorrupt, err)
		}
		r := parseRef(key[len(prefix):])
		hd.Bucket, hd.ID = r.Bucket, r.ID
		out = append(out, hd)
	}
	slices.SortFunc(out, func(a, b Holder) int { return strings.Compare(a.Bucket+"\x00"+a.ID, b.Bucket+"\x00"+b.ID) })
	return out, nil
}

func refKey(r Ref) []byte { return []byte(r.Bucket + "\x00" + r.ID) }

func parseRef(k []byte) Ref {
	b, id, _ := strings.Cut(string(k), "\x00")
	return Ref{Bucket: b, ID: id}
}

// checkHolds checks that every hold has both its rows and that its holder exists (a holder's
// delete drops its holds in the same transaction).
func checkHolds(tx *bbolt.Tx, h *holdBuckets, p *problems) {
	n := 0
	h.byHolder.ForEach(func(k, _ []byte) error {
		n++
		parts := strings.SplitN(string(k), "\x00", 4)
		if len(parts) != 4 {
			p.add("holds: bad key %q", k)
			return nil
		}
		holder, held := Ref{parts[0], parts[1]}, Ref{parts[2], parts[3]}
		if h.byHeld.Get(append(append(refKey(held), 0), refKey(holder)...)) == nil {
			p.add("holds: the hold of %s %s on %s %s has no by_held row", noun(holder.Bucket), holder.ID, noun(held.Bucket), held.ID)
		}
		if t, err := kindTables(tx, holder.Bucket); err != nil || t.records.Get([]byte(holder.ID)) == nil {
			p.add("holds: %s %s holds %s %s but does not exist", noun(holder.Bucket), holder.ID, noun(held.Bucket), held.ID)
		}
		return nil
	})
	if m := h.byHeld.Stats().KeyN; m != n {
		p.add("holds: %d rows by holder, %d by held", n, m)
	}
}
