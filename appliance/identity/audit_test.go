package identity

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"cloudlet/store"
)

// record stores e and fails the test on error.
func (f *fixture) record(e AuditEntry) AuditEntry {
	f.t.Helper()
	got, err := f.s.RecordAudit(testCtx, e)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

func (f *fixture) audit(filter AuditFilter) AuditPage {
	f.t.Helper()
	page, err := f.s.Audit(testCtx, filter)
	if err != nil {
		f.t.Fatal(err)
	}
	return page
}

// TestRecordAudit: an entry keeps every field it was given, gets a seq shared with its
// audit.recorded event, the catalog's time, and an ID in seq order; the event has no project, so
// only admins see it.
func TestRecordAudit(t *testing.T) {
	f := newFixture(t)
	in := AuditEntry{UserID: "u-1", UserName: "ada", Via: "token", Action: "network:create", Method: "POST",
		Path: "/api/v1/networks", ResourceID: "n-1", Status: 201, Source: "192.0.2.7"}
	in.ProjectID = "p-1"
	got := f.record(in)

	want := in
	want.Seq = got.Seq
	want.Meta = store.Meta{ID: auditID(got.Seq), ProjectID: "p-1", CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now(), Revision: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RecordAudit (-want +got):\n%s", diff)
	}
	if auditID(9) >= auditID(10) {
		t.Errorf("auditID(9) = %s sorts after auditID(10) = %s: the catalog's ID order must be seq order", auditID(9), auditID(10))
	}
	page := f.audit(AuditFilter{})
	if diff := cmp.Diff([]*AuditEntry{&want}, page.Entries); diff != "" {
		t.Errorf("Audit (-want +got):\n%s", diff)
	}

	events, err := f.db.EventsSince(got.Seq-1, 1)
	if err != nil || len(events) != 1 {
		t.Fatalf("EventsSince = %v, %v; want the audit event", events, err)
	}
	ev := events[0]
	if ev.Type != EventAuditRecorded || ev.Seq != got.Seq || ev.ProjectID != "" {
		t.Errorf("event = %+v, want type %s, seq %d, no project", ev, EventAuditRecorded, got.Seq)
	}
	var data map[string]any
	if err := json.Unmarshal(ev.Data, &data); err != nil || data["action"] != "network:create" || data["project_id"] != "p-1" {
		t.Errorf("event data = %s (%v), want the action and project", ev.Data, err)
	}
}

// TestRecordAuditBoundsFields: a caller-controlled field cannot make a huge entry.
func TestRecordAuditBoundsFields(t *testing.T) {
	f := newFixture(t)
	got := f.record(AuditEntry{Method: "DELETE", Path: "/api/v1/networks/" + strings.Repeat("x", 5000),
		ResourceID: strings.Repeat("x", 5000), UserName: strings.Repeat("u", 5000), Status: 404})
	if len(got.Path) != maxAuditPath || len(got.ResourceID) != maxAuditField || len(got.UserName) != maxAuditField {
		t.Errorf("lengths path %d, resource %d, user %d; want %d, %d, %d", len(got.Path), len(got.ResourceID),
			len(got.UserName), maxAuditPath, maxAuditField, maxAuditField)
	}
}

// TestAuditFilters: filters select entries, oldest first; next resumes after the last entry of a
// full page, or after everything the walk saw.
func TestAuditFilters(t *testing.T) {
	f := newFixture(t)
	var seqs []uint64
	for _, e := range []struct {
		project, user string
		action        Action
	}{
		{"pa", "ada", "network:create"}, {"pa", "bob", "network:delete"}, {"pb", "ada", "volume:create"},
		{"pa", "ada", "network:delete"}, {"pb", "bob", "network:create"},
	} {
		in := AuditEntry{UserID: "id-" + e.user, UserName: e.user, Action: e.action, Method: "POST", Path: "/x", Status: 200}
		in.ProjectID = e.project
		seqs = append(seqs, f.record(in).Seq)
	}
	tests := []struct {
		name     string
		filter   AuditFilter
		want     []uint64
		wantNext uint64
	}{
		{"all", AuditFilter{}, seqs, seqs[4]},
		{"since", AuditFilter{Since: seqs[2]}, seqs[3:], seqs[4]},
		{"full page", AuditFilter{Limit: 2}, seqs[:2], seqs[1]},
		{"project", AuditFilter{ProjectID: "pa"}, []uint64{seqs[0], seqs[1], seqs[3]}, seqs[4]},
		{"user by name", AuditFilter{User: "bob"}, []uint64{seqs[1], seqs[4]}, seqs[4]},
		{"user by id", AuditFilter{User: "id-ada", Limit: 1}, seqs[:1], seqs[0]},
		{"action", AuditFilter{Action: "network:delete", ProjectID: "pa"}, []uint64{seqs[1], seqs[3]}, seqs[4]},
		{"nothing matches", AuditFilter{Action: "host:show"}, nil, seqs[4]},
		{"after the end", AuditFilter{Since: seqs[4] + 10}, nil, seqs[4] + 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := f.audit(tt.filter)
			var got []uint64
			for _, e := range page.Entries {
				got = append(got, e.Seq)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("seqs (-want +got):\n%s", diff)
			}
			if page.Next != tt.wantNext {
				t.Errorf("next = %d, want %d", page.Next, tt.wantNext)
			}
		})
	}
}

// TestPruneAudit: entries older than the retention go, by the catalog's clock; the rest stay, and
// the catalog's indexes stay consistent (the fixture checks it on cleanup).
func TestPruneAudit(t *testing.T) {
	f := newFixture(t)
	const day = 24 * time.Hour
	entry := func(path string) AuditEntry {
		e := AuditEntry{Method: "POST", Path: path, Status: 201}
		e.ProjectID = "pa"
		return e
	}
	f.record(entry("/old"))
	f.clock.Advance(50 * day)
	f.record(entry("/middle"))
	f.clock.Advance(41 * day)
	f.record(entry("/new"))

	if _, err := f.s.PruneAudit(testCtx, 0); err == nil {
		t.Error("PruneAudit(0) succeeded, want an error: a zero retention would erase the log")
	}
	n, err := f.s.PruneAudit(testCtx, 90*day)
	if err != nil || n != 1 {
		t.Fatalf("PruneAudit(90d) = %d, %v; want 1", n, err)
	}
	var paths []string
	for _, e := range f.audit(AuditFilter{}).Entries {
		paths = append(paths, e.Path)
	}
	if diff := cmp.Diff([]string{"/middle", "/new"}, paths); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	if n, err := f.s.PruneAudit(testCtx, 90*day); err != nil || n != 0 {
		t.Errorf("second PruneAudit = %d, %v; want 0", n, err)
	}
	f.clock.Advance(365 * day)
	if n, err := f.s.PruneAudit(testCtx, 90*day); err != nil || n != 2 {
		t.Errorf("PruneAudit a year later = %d, %v; want 2", n, err)
	}
}
