package web

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"cloudlet/appliance/identity"
	"cloudlet/appliance/ratelimit"
)

// auditFlood aggregates the audit entries of unauthenticated failures (a 401 on any route, a failed
// or throttled login): one entry per (source, method, route, status) per window, with a count,
// kept in memory until the window closes and then written in one transaction. Past maxKeys distinct
// keys in a window, failures count in one "other" entry. So a flood without a login adds at most
// maxKeys+1 entries per window to the catalog, instead of one fsynced entry per request.
// Authenticated requests are not its business: they keep one entry each.
type auditFlood struct {
	record  func(context.Context, []identity.AuditEntry) error
	log     *slog.Logger
	window  time.Duration
	maxKeys int
	now     func() time.Time

	flushMu sync.Mutex     // serializes flushes, so windows are written in order
	timers  sync.WaitGroup // the pending window's timer, while it may still fire

	mu      sync.Mutex // guards the fields below
	start   time.Time  // of the open window; zero when none is open
	timer   *time.Timer
	keys    []floodKey // in first-seen order
	entries map[floodKey]*identity.AuditEntry
	other   *identity.AuditEntry
	closed  bool
}

// floodKey is what makes two failures one entry. The route is its pattern, never the filled path,
// so made-up ids do not make new keys.
type floodKey struct {
	source, method, route string
	action                identity.Action
	status                int
}

// otherSource marks the entry of a window's failures past its key cap.
const otherSource = "other"

func newAuditFlood(record func(context.Context, []identity.AuditEntry) error, log *slog.Logger,
	window time.Duration, maxKeys int, now func() time.Time) *auditFlood {
	return &auditFlood{record: record, log: log, window: window, maxKeys: maxKeys, now: now,
		entries: map[floodKey]*identity.AuditEntry{}}
}

// add counts e, a failure of route by an unauthenticated caller, in the open window.
func (f *auditFlood) add(route string, e identity.AuditEntry) {
	k := floodKey{source: ratelimit.SourceKey(e.Source), method: e.Method, route: route, action: e.Action, status: e.Status}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.start.IsZero() {
		f.open()
	}
	agg, ok := f.entries[k]
	switch {
	case ok:
	case len(f.entries) < f.maxKeys:
		agg = &e
		agg.Path, agg.ResourceID, agg.Source, agg.FirstAt = route, "", k.source, f.start
		f.entries[k] = agg
		f.keys = append(f.keys, k)
	default:
		if f.other == nil {
			f.other = &identity.AuditEntry{Action: "unauthenticated", Method: "*", Path: "*",
				Source: otherSource, FirstAt: f.start}
		}
		agg = f.other
	}
	agg.Count++
	if agg.UserName != e.UserName { // failed logins under several names: say so, name none
		agg.UserName = "*"
	}
}

// open starts a window; its timer writes it when it closes (at once, after close).
func (f *auditFlood) open() {
	f.start = f.now()
	if f.closed {
		return
	}
	f.timers.Add(1)
	f.timer = time.AfterFunc(f.window, func() {
		defer f.timers.Done()
		f.flush()
	})
}

// flush writes the open window's entries and closes the window.
func (f *auditFlood) flush() {
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	batch := f.take()
	if len(batch) == 0 {
		return
	}
	if err := f.record(context.Background(), batch); err != nil {
		f.log.Error("audit log write failed", slog.Int("aggregated_entries", len(batch)), slog.Any("err", err))
	}
}

// take empties the window and returns its entries in first-seen order, "other" last.
func (f *auditFlood) take() []identity.AuditEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	batch := make([]identity.AuditEntry, 0, len(f.keys)+1)
	for _, k := range f.keys {
		batch = append(batch, *f.entries[k])
	}
	if f.other != nil {
		batch = append(batch, *f.other)
	}
	f.start, f.timer, f.keys, f.other = time.Time{}, nil, nil, nil
	clear(f.entries)
	return batch
}

// close stops the window's timer, waits for a flush it started, and writes what is left. Failures
// counted afterwards stay in memory until the next close.
func (f *auditFlood) close() {
	f.mu.Lock()
	f.closed = true
	if f.timer != nil && f.timer.Stop() {
		f.timers.Done()
	}
	f.mu.Unlock()
	f.timers.Wait()
	f.flush()
}
