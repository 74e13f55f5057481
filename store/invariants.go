package store

import (
	"encoding/binary"
	"encoding/json"

	"go.etcd.io/bbolt"
)

// checkInvariants checks store's own rules about records, indexes and events. A missing record
// bucket is a problem only once the catalog has the newest schema (a read-only open of an older
// backup has not been migrated yet).
func (db *DB) checkInvariants(tx *bbolt.Tx, p *problems) {
	version, err := readVersion(tx)
	if err != nil {
		p.add("%v", err)
		return
	}
	for _, bucket := range Buckets() {
		scope, _ := scopeOf(bucket)
		t, err := kindTables(tx, bucket)
		if err != nil {
			if version >= db.latest || tx.Bucket([]byte(bucket)) != nil {
				p.add("%v", err)
			}
			continue
		}
		metas := checkRecords(bucket, scope, t, p)
		checkNames(bucket, scope, t.names, metas, p)
		checkProjects(bucket, t.projects, metas, p)
	}
	if b := tx.Bucket([]byte(bucketEvents)); b != nil {
		checkEvents(b, p)
	}
	if tx.Bucket([]byte(bucketHolds)) != nil { // from schema version 2 (a holding kind's first write fails without it)
		if h, err := holdTables(tx); err != nil {
			p.add("%v", err)
		} else {
			checkHolds(tx, h, p)
		}
	}
}

// checkRecords checks each record's key, JSON and index entries, and returns their Meta by ID.
func checkRecords(bucket string, scope Scope, t tables, p *problems) map[string]Meta {
	metas := make(map[string]Meta)
	t.records.ForEach(func(k, v []byte) error {
		m, err := decodeMeta(v)
		switch {
		case err != nil:
			p.add("%s record %q: undecodable JSON: %v", bucket, k, err)
			return nil
		case m.ID != string(k):
			p.add("%s record %q: its JSON has id %q", bucket, k, m.ID)
		}
		metas[string(k)] = m
		if m.Name != "" {
			key := nameKey(scopeKeyOf(scope, m), m.Name)
			if got := t.names.Get(key); string(got) != string(k) {
				p.add("%s record %s named %q is not in the names index (entry %q holds %q)", bucket, k, m.Name, key, got)
			}
		}
		if m.ProjectID != "" && t.projects.Get(projectKey(m.ProjectID, string(k))) == nil {
			p.add("%s record %s of project %q is not in the projects index", bucket, k, m.ProjectID)
		}
		return nil
	})
	return metas
}

// checkNames checks that every names entry points at a record with that scope and name.
func checkNames(bucket string, scope Scope, names *bbolt.Bucket, metas map[string]Meta, p *problems) {
	names.ForEach(func(k, v []byte) error {
		m, ok := metas[string(v)]
		switch {
		case !ok:
			p.add("%s names entry %q points at missing record %q", bucket, k, v)
		case string(nameKey(scopeKeyOf(scope, m), m.Name)) != string(k):
			p.add("%s names entry %q points at record %s named %q in project %q", bucket, k, v, m.Name, m.ProjectID)
		}
		return nil
	})
}

// checkProjects checks that every projects entry names an existing record owned by that project.
func checkProjects(bucket string, projects *bbolt.Bucket, metas map[string]Meta, p *problems) {
	projects.ForEach(func(k, _ []byte) error {
		projectID, id, ok := splitKey(k)
		m, found := metas[id]
		switch {
		case !ok:
			p.add("%s projects entry %q is malformed", bucket, k)
		case !found:
			p.add("%s projects entry %q points at missing record %q", bucket, k, id)
		case m.ProjectID != projectID:
			p.add("%s projects entry %q: record %s belongs to project %q", bucket, k, id, m.ProjectID)
		}
		return nil
	})
}

// checkEvents checks that event keys are 8-byte sequence numbers matching their JSON.
func checkEvents(events *bbolt.Bucket, p *problems) {
	events.ForEach(func(k, v []byte) error {
		var e Event
		switch {
		case len(k) != 8:
			p.add("events key %q is not 8 bytes", k)
		case json.Unmarshal(v, &e) != nil:
			p.add("event %d: undecodable JSON", binary.BigEndian.Uint64(k))
		case e.Seq != binary.BigEndian.Uint64(k):
			p.add("event %d: its JSON has seq %d", binary.BigEndian.Uint64(k), e.Seq)
		}
		return nil
	})
}

// scopeKeyOf is the names index scope of a record: its project, or "" for global kinds.
func scopeKeyOf(scope Scope, m Meta) string {
	if scope == ScopeGlobal {
		return ""
	}
	return m.ProjectID
}
