package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Meta is the part of every record that store manages. Record types embed it anonymously and
// without a json tag:
//
//	type Instance struct {
//		store.Meta
//		Flavor string `json:"flavor"`
//	}
type Meta struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	ProjectID string    `json:"project_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Revision  uint64    `json:"revision"` // bumped by every Update; a stale value makes Update fail with ErrConflict
}

// StoreMeta returns m; through embedding it makes every record type a Record.
func (m *Meta) StoreMeta() *Meta { return m }

// Record is a pointer to a record type that embeds Meta.
type Record interface{ StoreMeta() *Meta }

// Scope says where a kind's names must be unique.
type Scope int

const (
	// ScopeProject: names are unique within a project (instances, volumes, networks, ...).
	ScopeProject Scope = iota + 1
	// ScopeGlobal: names are unique across the catalog (users, projects, flavors, pools).
	ScopeGlobal
)

func (s Scope) String() string {
	switch s {
	case ScopeProject:
		return "project"
	case ScopeGlobal:
		return "global"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// maxKeyLen bounds IDs and project IDs, which become parts of bbolt keys.
const maxKeyLen = 255

// checkKey rejects IDs and project IDs that would break the index key encoding.
func checkKey(what, s string) error {
	if len(s) > maxKeyLen || strings.IndexByte(s, 0) >= 0 {
		return faultf(ErrInvalid, "invalid %s %s: must be at most %d bytes without NUL", what, quoteShort(s), maxKeyLen)
	}
	return nil
}

// nameKey is the names index key of a name within a scope key ("" for global kinds).
func nameKey(scopeKey, name string) []byte {
	return []byte(scopeKey + "\x00" + name)
}

// projectKey is the projects index key of record id owned by projectID.
func projectKey(projectID, id string) []byte {
	return []byte(projectID + "\x00" + id)
}

// splitKey splits an index key at its first NUL.
func splitKey(k []byte) (string, string, bool) {
	a, b, ok := strings.Cut(string(k), "\x00")
	return a, b, ok
}

// decodeMeta reads only the Meta fields of a stored record.
func decodeMeta(raw []byte) (Meta, error) {
	var m Meta
	err := json.Unmarshal(raw, &m)
	return m, err
}

// encodeRecord marshals rec and verifies that Meta came out at the top level, which catches a
// record type that embeds Meta with a json tag or by pointer before it corrupts the indexes.
func encodeRecord(rec Record) ([]byte, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	m, err := decodeMeta(raw)
	if err != nil || m.ID != rec.StoreMeta().ID {
		return nil, fmt.Errorf("record type %T does not embed store.Meta at the top level of its JSON", rec)
	}
	return raw, nil
}
