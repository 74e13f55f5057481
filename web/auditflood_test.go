package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cloudlet/appliance/identity"
)

// TestProbe04UnauthenticatedFloodIsAuditedAggregated: 10,000 POSTs without a login and a run of
// failed logins add a handful of audit entries that count them all, not one fsynced entry each.
func TestProbe04UnauthenticatedFloodIsAuditedAggregated(t *testing.T) {
	f := newAuthFixture(t)
	before := f.auditPage("").Next
	const flood, logins = 10000, 20
	for i := range flood {
		token := ""
		if i%2 == 1 {
			token = "not-a-token"
		}
		if rec := f.do("POST", "/api/v1/networks", token, `{"name":"x"}`); rec.Code != 401 {
			t.Fatalf("POST %d without a login = %d, want 401", i, rec.Code)
		}
	}
	for range logins { // 401s, then 429s once the user name is throttled
		f.do("POST", "/api/v1/auth/tokens", "", `{"username":"member","password":"wrong","project":"pa"}`)
	}
	f.entries(before, 0) // nothing written while the window is open

	f.srv.flood.flush()
	entries := f.auditPage(fmt.Sprintf("?since=%d", before)).Entries
	if len(entries) > 4 {
		t.Fatalf("%d audit entries for %d unauthenticated failures, want a handful", len(entries), flood+logins)
	}
	counts := map[string]int{}
	total := 0
	for _, e := range entries {
		counts[fmt.Sprintf("%s %s %d", e.Action, e.Path, e.Status)] += e.Count
		total += e.Count
		if e.Source != "192.0.2.10" || e.FirstAt.IsZero() || e.UserID != "" {
			t.Errorf("aggregated entry %+v: want source 192.0.2.10, a first_at and no user id", e)
		}
	}
	if counts["network:create /api/v1/networks 401"] != flood || total != flood+logins {
		t.Errorf("aggregated counts %v (total %d), want %d network:create 401s and %d in all", counts, total, flood, flood+logins)
	}
}

// recorded collects what an auditFlood writes.
type recorded struct {
	mu      sync.Mutex
	batches [][]identity.AuditEntry
	wrote   chan struct{}
}

func (r *recorded) record(_ context.Context, es []identity.AuditEntry) error {
	r.mu.Lock()
	r.batches = append(r.batches, es)
	r.mu.Unlock()
	r.wrote <- struct{}{}
	return nil
}

func newRecorded() *recorded { return &recorded{wrote: make(chan struct{}, 10)} }

func failure(source string, status int) identity.AuditEntry {
	return identity.AuditEntry{Action: "network:create", Method: "POST", Path: "/api/v1/networks", Status: status, Source: source}
}

// TestProbe04AuditFloodKeysAreCapped: past the cap on distinct keys, failures count in one "other"
// entry; an IPv6 source counts per /64, so one host cannot make a key per address.
func TestProbe04AuditFloodKeysAreCapped(t *testing.T) {
	r := newRecorded()
	fl := newAuditFlood(r.record, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour, 4, time.Now)
	for i := range 1000 {
		fl.add("/api/v1/networks", failure(fmt.Sprintf("2001:db8::%x", i), 401)) // one /64
	}
	for i := range 10 {
		for range 3 {
			fl.add("/api/v1/networks", failure(fmt.Sprintf("192.0.2.%d", i), 401))
		}
	}
	fl.close()
	if len(r.batches) != 1 {
		t.Fatalf("%d writes, want one for the window", len(r.batches))
	}
	got := map[string]int{}
	for _, e := range r.batches[0] {
		got[e.Source] = e.Count
	}
	want := map[string]int{"2001:db8::/64": 1000, "192.0.2.0": 3, "192.0.2.1": 3, "192.0.2.2": 3, otherSource: 21}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries by source %v, want %v", got, want)
	}
}

// TestProbe04AuditFloodWritesWhenItsWindowCloses: the aggregated entries are written by the window's
// end without any further request, and a new window starts afterwards.
func TestProbe04AuditFloodWritesWhenItsWindowCloses(t *testing.T) {
	r := newRecorded()
	fl := newAuditFlood(r.record, slog.New(slog.NewTextHandler(io.Discard, nil)), 50*time.Millisecond, 4, time.Now)
	defer fl.close()
	for round := range 2 {
		fl.add("/api/v1/networks", failure("192.0.2.1", 401))
		fl.add("/api/v1/networks", failure("192.0.2.1", 401))
		select {
		case <-r.wrote:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the window's entries were not written within 10 s", round)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, b := range r.batches {
		if len(b) != 1 || b[0].Count != 2 {
			t.Errorf("window %d wrote %+v, want one entry counting 2", i, b)
		}
	}
}
