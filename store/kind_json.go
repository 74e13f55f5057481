package store

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
)

// AppendJSON appends to dst the JSON array of projectID's records ("" for all records), in List's
// order (name, then ID), copied from their stored encoding: no record is decoded or encoded. A record
// is stored as json.Marshal of T gives it (every write goes through that), so the array holds the
// bytes json.Marshal of List's slice gives, once records an older T wrote were rewritten by
// Canonicalize. It is the list read path for kinds whose lists grow to thousands of records.
func (k Kind[T, P]) AppendJSON(tx *Tx, projectID string, dst []byte) ([]byte, error) {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return dst, err
	}
	ids := k.nameOrder(t, projectID)
	raws := make([][]byte, len(ids))
	size := 2 + len(ids)
	for i, id := range ids {
		if raws[i] = t.records.Get([]byte(id)); raws[i] == nil {
			return dst, fmt.Errorf("list %s of project %q: %w", k.bucket, projectID, k.notFound(id))
		}
		size += len(raws[i])
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, '[')
	for i, raw := range raws {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, raw...)
	}
	return append(dst, ']'), nil
}

// nameOrder returns the IDs of projectID's records sorted by name, then ID, as List sorts them,
// reading the names from the names index instead of the records. Within one scope the index is in
// name order already; only a list across projects is sorted.
func (k Kind[T, P]) nameOrder(t tables, projectID string) []string {
	ids := k.ids(t, projectID)
	var prefix []byte // the whole index: every scope
	if k.scope == ScopeProject && projectID != "" {
		prefix = nameKey(projectID, "")
	}
	named := make([]namedID, 0, len(ids))
	c := t.names.Cursor()
	for key, id := c.Seek(prefix); key != nil && bytes.HasPrefix(key, prefix); key, id = c.Next() {
		if _, name, ok := splitKey(key); ok {
			named = append(named, namedID{name, string(id)})
		}
	}
	if len(named) != len(ids) || k.scope == ScopeGlobal && projectID != "" {
		named = withUnnamed(named, ids)
	}
	if !slices.IsSortedFunc(named, namedID.compare) {
		slices.SortFunc(named, namedID.compare)
	}
	for i, n := range named {
		ids[i] = n.id
	}
	return ids
}

// namedID is a record's name and ID, as List orders records.
type namedID struct{ name, id string }

func (a namedID) compare(b namedID) int {
	return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.id, b.id))
}

// withUnnamed keeps the entries of named whose record is in ids and adds the records of ids that
// have no name (they sort first, as List's empty names do).
func withUnnamed(named []namedID, ids []string) []namedID {
	names := make(map[string]string, len(named))
	for _, n := range named {
		names[n.id] = n.name
	}
	out := make([]namedID, 0, len(ids))
	for _, id := range ids {
		out = append(out, namedID{names[id], id})
	}
	return out
}

// Canonicalize rewrites each record whose stored bytes differ from what T encodes it to now: records
// an older T wrote (a field added, renamed or dropped since). Meta is kept as stored (no new revision:
// the record did not change), so AppendJSON gives what decoding and encoding would. It returns how
// many records it rewrote.
func (k Kind[T, P]) Canonicalize(tx *Tx) (int, error) {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range k.ids(t, "") {
		raw := t.records.Get([]byte(id))
		rec, err := k.decode(id, raw)
		if err != nil {
			return n, err
		}
		now, err := encodeRecord(rec)
		if err != nil {
			return n, fmt.Errorf("canonicalize %s %s: %w", noun(k.bucket), id, err)
		}
		if bytes.Equal(raw, now) {
			continue
		}
		if err := t.records.Put([]byte(id), now); err != nil {
			return n, fmt.Errorf("canonicalize %s %s: %w", noun(k.bucket), id, err)
		}
		n++
	}
	return n, nil
}
