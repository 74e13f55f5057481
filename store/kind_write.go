package store

import "fmt"

// Create stores a new record and its holds (see Holding). It assigns an ID (NewID) when rec has none, sets CreatedAt and
// UpdatedAt to the transaction's time and Revision to 1. A non-empty Name must pass ValidateName
// and be free in the kind's scope; a taken name or an existing ID fails with ErrConflict.
// rec's Meta is left unchanged when Create fails.
func (k Kind[T, P]) Create(tx *Tx, rec P) error {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return err
	}
	m := rec.StoreMeta()
	id := m.ID
	if id == "" {
		id = NewID()
	}
	if err := k.validate(id, m); err != nil {
		return err
	}
	if t.records.Get([]byte(id)) != nil {
		return faultf(ErrConflict, "%s %s already exists", noun(k.bucket), id)
	}
	if err := k.nameFree(t, id, m); err != nil {
		return err
	}
	old := *m
	m.ID, m.CreatedAt, m.UpdatedAt, m.Revision = id, tx.Now(), tx.Now(), 1
	if err := k.afterWrite(tx, rec); err != nil {
		*m = old
		return fmt.Errorf("create %s %s: %w", noun(k.bucket), id, err)
	}
	if err := k.write(t, rec, nil); err != nil {
		*m = old
		return fmt.Errorf("create %s %s: %w", noun(k.bucket), id, err)
	}
	return nil
}

// Update replaces a stored record (ErrNotFound if there is none). rec.Revision must equal the
// stored revision, else someone changed the record since it was read: ErrConflict, read it again.
// Update bumps Revision, sets UpdatedAt, keeps CreatedAt, and moves the index entries when the
// name or the project changed (a new name must be free; a project change transfers ownership).
func (k Kind[T, P]) Update(tx *Tx, rec P) error {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return err
	}
	m := rec.StoreMeta()
	raw := t.records.Get([]byte(m.ID))
	if raw == nil {
		return k.notFound(m.ID)
	}
	prev, err := decodeMeta(raw)
	if err != nil {
		return fmt.Errorf("update %s %s: %w: %v", noun(k.bucket), m.ID, ErrCorrupt, err)
	}
	prev.ID = m.ID
	if m.Revision != prev.Revision {
		return faultf(ErrConflict, "%s %s was changed concurrently (revision %d, stored %d): read it again",
			noun(k.bucket), m.ID, m.Revision, prev.Revision)
	}
	if err := k.validate(m.ID, m); err != nil {
		return err
	}
	if err := k.nameFree(t, m.ID, m); err != nil {
		return err
	}
	old := *m
	m.CreatedAt, m.UpdatedAt, m.Revision = prev.CreatedAt, tx.Now(), prev.Revision+1
	if err := k.afterWrite(tx, rec); err != nil {
		*m = old
		return fmt.Errorf("update %s %s: %w", noun(k.bucket), m.ID, err)
	}
	if err := k.write(t, rec, &prev); err != nil {
		*m = old
		return fmt.Errorf("update %s %s: %w", noun(k.bucket), m.ID, err)
	}
	return nil
}

// Delete removes the record with id, its index entries, its holds and its seal (ErrNotFound if
// there is none).
func (k Kind[T, P]) Delete(tx *Tx, id string) error {
	t, err := kindTables(tx.btx, k.bucket)
	if err != nil {
		return err
	}
	raw := t.records.Get([]byte(id))
	if raw == nil {
		return k.notFound(id)
	}
	m, err := decodeMeta(raw)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w: %v", noun(k.bucket), id, ErrCorrupt, err)
	}
	m.ID = id
	if err := k.afterDelete(tx, id); err != nil {
		return fmt.Errorf("delete %s %s: %w", noun(k.bucket), id, err)
	}
	if err := k.unindex(t, m); err != nil {
		return fmt.Errorf("delete %s %s: %w", noun(k.bucket), id, err)
	}
	if err := t.records.Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete %s %s: %w", noun(k.bucket), id, err)
	}
	return nil
}

// validate checks what a caller may set in Meta.
func (k Kind[T, P]) validate(id string, m *Meta) error {
	if err := checkKey("id", id); err != nil {
		return err
	}
	if err := checkKey("project id", m.ProjectID); err != nil {
		return err
	}
	if m.Name == "" {
		return nil
	}
	return ValidateName(m.Name)
}

// nameFree fails with ErrConflict when m's name is held, in m's scope, by a record other than id.
func (k Kind[T, P]) nameFree(t tables, id string, m *Meta) error {
	if m.Name == "" {
		return nil
	}
	holder := t.names.Get(nameKey(k.scopeKey(m.ProjectID), m.Name))
	if holder == nil || string(holder) == id {
		return nil
	}
	if k.scope == ScopeProject && m.ProjectID != "" {
		return faultf(ErrConflict, "%s name %q already exists in project %s", noun(k.bucket), m.Name, m.ProjectID)
	}
	return faultf(ErrConflict, "%s name %q already exists", noun(k.bucket), m.Name)
}

// write stores rec and moves its index entries from prev (nil for a new record).
func (k Kind[T, P]) write(t tables, rec P, prev *Meta) error {
	m := rec.StoreMeta()
	raw, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	if err := t.records.Put([]byte(m.ID), raw); err != nil {
		return err
	}
	if prev != nil {
		if err := k.unindex(t, *prev); err != nil {
			return err
		}
	}
	return k.index(t, *m)
}

func (k Kind[T, P]) index(t tables, m Meta) error {
	if m.Name != "" {
		if err := t.names.Put(nameKey(k.scopeKey(m.ProjectID), m.Name), []byte(m.ID)); err != nil {
			return err
		}
	}
	if m.ProjectID != "" {
		return t.projects.Put(projectKey(m.ProjectID, m.ID), []byte{})
	}
	return nil
}

// unindex removes m's index entries; a names entry held by another record is left alone.
func (k Kind[T, P]) unindex(t tables, m Meta) error {
	if m.Name != "" {
		key := nameKey(k.scopeKey(m.ProjectID), m.Name)
		if string(t.names.Get(key)) == m.ID {
			if err := t.names.Delete(key); err != nil {
				return err
			}
		}
	}
	if m.ProjectID != "" {
		return t.projects.Delete(projectKey(m.ProjectID, m.ID))
	}
	return nil
}
