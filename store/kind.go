package store

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
)

// Kind is a typed table: the records of type T (whose pointer type P embeds Meta) kept in one
// record bucket, with a names index for unique names and a projects index for per-project lists.
//
//	var instances = store.NewKind[Instance](store.BucketInstances, store.ScopeProject)
//	err := db.Update(func(tx *store.Tx) error { return instances.Create(tx, &Instance{...}) })
type Kind[T any, P interface {
	*T
	Record
}] struct {
	bucket string
	scope  Scope
	holds  func(P) []Ref // what a record holds (see Holding); nil: nothing
}

// NewKind returns the table for bucket, which must be one of the Bucket* constants, declared with
// the scope the layout gives it (ScopeGlobal for users, projects, flavors and pools, else ScopeProject).
// Anything else is a programming error and panics.
func NewKind[T any, P interface {
	*T
	Record
}](bucket string, scope Scope) Kind[T, P] {
	want, ok := scopeOf(bucket)
	if !ok {
		panic(fmt.Sprintf("store.NewKind: %q is not a record bucket (see store.Buckets)", bucket))
	}
	if scope != want {
		panic(fmt.Sprintf("store.NewKind: bucket %q has scope %v, not %v", bucket, want, scope))
	}
	return Kind[T, P]{bucket: bucket, scope: scope}
}

// Get returns the record with id, or an error wrapping ErrNotFound.
func (k Kind[T, P]) Get(tx *Tx, id string) (P, error) {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return nil, err
	}
	return k.get(t, id)
}

// Lookup finds a record by ID, then by name, as the API's {id} path parameters do. With a
// projectID, a project-scoped record of another project is never returned (ErrNotFound), and
// names are looked up in that project; with projectID "", among records that have no project.
// Global kinds ignore projectID.
func (k Kind[T, P]) Lookup(tx *Tx, projectID, idOrName string) (P, error) {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return nil, err
	}
	if raw := t.records.Get([]byte(idOrName)); raw != nil {
		rec, err := k.decode(idOrName, raw)
		if err != nil || k.visible(rec.StoreMeta(), projectID) {
			return rec, err
		}
	}
	if id := t.names.Get(nameKey(k.scopeKey(projectID), idOrName)); id != nil {
		return k.get(t, string(id))
	}
	return nil, k.notFound(idOrName)
}

// List returns the records of projectID ("" for all records), sorted by name, then ID. For a
// project it reads only that project's records, through the projects index.
func (k Kind[T, P]) List(tx *Tx, projectID string) ([]P, error) {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return nil, err
	}
	ids := k.ids(t, projectID)
	out := make([]P, 0, len(ids))
	for _, id := range ids {
		rec, err := k.get(t, id)
		if err != nil {
			return nil, fmt.Errorf("list %s of project %q: %w", k.bucket, projectID, err)
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b P) int {
		ma, mb := a.StoreMeta(), b.StoreMeta()
		return cmp.Or(cmp.Compare(ma.Name, mb.Name), cmp.Compare(ma.ID, mb.ID))
	})
	return out, nil
}

// ForEach calls fn with every record, in ID order, stopping at fn's first error. fn may write to
// the table; records it deletes before they are reached are skipped.
func (k Kind[T, P]) ForEach(tx *Tx, fn func(P) error) error {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return err
	}
	for _, id := range k.ids(t, "") {
		raw := t.records.Get([]byte(id))
		if raw == nil {
			continue
		}
		rec, err := k.decode(id, raw)
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// Count returns how many records projectID owns ("" for all records).
func (k Kind[T, P]) Count(tx *Tx, projectID string) (int, error) {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return 0, err
	}
	return len(k.ids(t, projectID)), nil
}

// ids returns the IDs of projectID's records (all records when projectID is ""), in ID order.
// They are copied: keys from bbolt are only valid until the bucket changes.
func (k Kind[T, P]) ids(t tables, projectID string) []string {
	var ids []string
	if projectID == "" {
		c := t.records.Cursor()
		for id, _ := c.First(); id != nil; id, _ = c.Next() {
			ids = append(ids, string(id))
		}
		return ids
	}
	prefix := projectKey(projectID, "")
	c := t.projects.Cursor()
	for key, _ := c.Seek(prefix); key != nil && bytes.HasPrefix(key, prefix); key, _ = c.Next() {
		ids = append(ids, string(key[len(prefix):]))
	}
	return ids
}

func (k Kind[T, P]) get(t tables, id string) (P, error) {
	raw := t.records.Get([]byte(id))
	if raw == nil {
		return nil, k.notFound(id)
	}
	return k.decode(id, raw)
}

func (k Kind[T, P]) decode(id string, raw []byte) (P, error) {
	rec := P(new(T))
	if err := json.Unmarshal(raw, rec); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w: %v", noun(k.bucket), id, ErrCorrupt, err)
	}
	return rec, nil
}

// visible reports whether a record found by ID may be shown to a caller in projectID.
func (k Kind[T, P]) visible(m *Meta, projectID string) bool {
	return k.scope == ScopeGlobal || projectID == "" || m.ProjectID == projectID
}

// scopeKey is the names index scope for a project: the project, or "" for global kinds.
func (k Kind[T, P]) scopeKey(projectID string) string {
	return scopeKeyOf(k.scope, Meta{ProjectID: projectID})
}

func (k Kind[T, P]) notFound(idOrName string) error {
	return faultf(ErrNotFound, "%s %s not found", noun(k.bucket), quoteShort(idOrName))
}
