package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"cloudlet/store"
)

// AuditEntry is one mutating API request: who, in which project, did what to which resource, how
// it ended, when and from where. It never holds a request body, a query string, a password, a
// token or a secret, only what the web layer knows about the request from its route.
//
// Meta.CreatedAt is the time of the request's end; Meta.ProjectID the project it acted in; Meta.ID
// is Seq, zero-padded so that the catalog's ID order is the log's order.
type AuditEntry struct {
	store.Meta
	Seq        uint64 `json:"seq"`               // the seq of its audit.recorded event: increasing, never reused
	UserID     string `json:"user_id,omitempty"` // "" for transport-trusted callers and failed logins
	UserName   string `json:"user_name,omitempty"`
	Via        string `json:"via,omitempty"` // token, credential, unix, loopback, password (a login); "" unauthenticated
	Action     Action `json:"action"`        // the route's policy action
	Method     string `json:"method"`        // POST, PUT, PATCH, DELETE
	Path       string `json:"path"`          // the route with its parameters filled in, never the query
	ResourceID string `json:"resource_id,omitempty"`
	Status     int    `json:"status"`
	Source     string `json:"source,omitempty"` // the peer's IP, "unix" on the socket

	// Count is how many requests an aggregated entry stands for; 0 on an entry of one request.
	// Unauthenticated failures (a flood of 401s, failed logins) are recorded aggregated: one entry
	// per source, route and status per window, from FirstAt to CreatedAt (see web/auditflood.go).
	Count   int       `json:"count,omitempty"`
	FirstAt time.Time `json:"first_at,omitzero"`
}

// EventAuditRecorded is the type of the event appended with every audit entry. Its seq is the
// entry's; it has no project, so only admins (who read every event) see it.
const EventAuditRecorded = "audit.recorded"

// DefaultAuditRetention is how long audit entries are kept by default.
const DefaultAuditRetention = 90 * 24 * time.Hour

// Bounds of the free-form fields of an entry, so one request cannot write a megabyte of log.
const (
	maxAuditField = 255
	maxAuditPath  = 1024
)

var auditLog = store.NewKind[AuditEntry](store.BucketAudit, store.ScopeProject)

// auditID is the catalog ID of the entry with seq: 20 digits hold every uint64.
func auditID(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// RecordAudit appends e to the audit log and an audit.recorded event to the event log, in one
// transaction. It sets e's Seq, ID and CreatedAt; the fields the caller set are cut to bounded
// lengths. It returns the stored entry.
func (s *Service) RecordAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	err := s.db.Update(func(tx *store.Tx) error { return appendAudit(tx, &e) })
	if err != nil {
		return AuditEntry{}, fmt.Errorf("record audit entry %s %s: %w", e.Method, e.Path, err)
	}
	return e, nil
}

// RecordAudits appends every entry of es, as RecordAudit does, in one transaction: the aggregated
// entries of a window cost one catalog write, however many there are.
func (s *Service) RecordAudits(ctx context.Context, es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *store.Tx) error {
		for i := range es {
			if err := appendAudit(tx, &es[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d audit entries: %w", len(es), err)
	}
	return nil
}

// appendAudit bounds e, appends its audit.recorded event and stores it with the event's seq.
func appendAudit(tx *store.Tx, e *AuditEntry) error {
	e.bound()
	data, err := json.Marshal(e.eventData())
	if err != nil {
		return fmt.Errorf("encode audit entry %s %s: %w", e.Method, e.Path, err)
	}
	ev := &store.Event{Type: EventAuditRecorded, Kind: store.BucketAudit, Data: data}
	if err := store.AppendEvent(tx, ev); err != nil {
		return err
	}
	e.Seq, e.Meta = ev.Seq, store.Meta{ID: auditID(ev.Seq), ProjectID: e.ProjectID}
	return auditLog.Create(tx, e)
}

// bound cuts the caller-controlled fields to their limits.
func (e *AuditEntry) bound() {
	for _, f := range []*string{&e.UserID, &e.UserName, &e.Via, &e.Method, &e.ResourceID, &e.Source, &e.ProjectID} {
		*f = cut(*f, maxAuditField)
	}
	e.Action = Action(cut(string(e.Action), maxAuditField))
	e.Path = cut(e.Path, maxAuditPath)
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// eventData is what the audit.recorded event carries: the entry without its catalog bookkeeping.
func (e *AuditEntry) eventData() any {
	return struct {
		ProjectID  string `json:"project_id,omitempty"`
		UserID     string `json:"user_id,omitempty"`
		UserName   string `json:"user_name,omitempty"`
		Action     Action `json:"action"`
		Method     string `json:"method"`
		Path       string `json:"path"`
		ResourceID string `json:"resource_id,omitempty"`
		Status     int    `json:"status"`
		Count      int    `json:"count,omitempty"`
	}{e.ProjectID, e.UserID, e.UserName, e.Action, e.Method, e.Path, e.ResourceID, e.Status, e.Count}
}

// AuditFilter selects audit entries: those after Since, of a project, a user (ID or name) and an
// action when those are set, at most Limit of them.
type AuditFilter struct {
	Since     uint64
	Limit     int // <= 0: no limit
	ProjectID string
	User      string
	Action    Action
}

func (f AuditFilter) matches(e *AuditEntry) bool {
	return e.Seq > f.Since && (f.ProjectID == "" || e.ProjectID == f.ProjectID) &&
		(f.User == "" || e.UserID == f.User || e.UserName == f.User) && (f.Action == "" || e.Action == f.Action)
}

// AuditPage is one answer of Audit: entries oldest first, and the Since of the next call.
type AuditPage struct {
	Entries []*AuditEntry `json:"entries"`
	Next    uint64        `json:"next"`
}

// errStop ends a ForEach walk early; stopped turns it back into success, so the transaction commits.
var errStop = errors.New("stop")

func stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// Audit returns the entries f selects, oldest first. Next is the seq of the last entry when the
// page is full, else the newest seq the walk saw, so a follower that passes it as the next Since
// never reads an entry twice and never rereads entries its filter skipped.
//
// It reads the log from its start: the cost grows with the retained log, not with the page.
func (s *Service) Audit(ctx context.Context, f AuditFilter) (AuditPage, error) {
	page := AuditPage{Entries: []*AuditEntry{}, Next: f.Since}
	err := s.db.View(func(tx *store.Tx) error {
		return stopped(auditLog.ForEach(tx, func(e *AuditEntry) error {
			if !f.matches(e) {
				page.Next = max(page.Next, e.Seq)
				return nil
			}
			page.Entries = append(page.Entries, e)
			page.Next = e.Seq
			if f.Limit > 0 && len(page.Entries) == f.Limit {
				return errStop
			}
			return nil
		}))
	})
	if err != nil {
		return AuditPage{}, fmt.Errorf("read audit log since %d: %w", f.Since, err)
	}
	return page, nil
}

// PruneAudit deletes the entries older than retention (by the catalog's clock) and returns how
// many went. Entries are in time order, so it stops at the first one it keeps.
func (s *Service) PruneAudit(ctx context.Context, retention time.Duration) (int, error) {
	if retention <= 0 {
		return 0, faultf(ErrInvalid, "audit retention %v must be positive", retention)
	}
	n := 0
	err := s.db.Update(func(tx *store.Tx) error {
		cutoff := tx.Now().Add(-retention)
		return stopped(auditLog.ForEach(tx, func(e *AuditEntry) error {
			if !e.CreatedAt.Before(cutoff) {
				return errStop
			}
			n++
			return auditLog.Delete(tx, e.ID)
		}))
	})
	if err != nil {
		return 0, fmt.Errorf("prune audit log (retention %v): %w", retention, err)
	}
	return n, nil
}
