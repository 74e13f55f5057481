package web

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"cloudlet/appliance/ratelimit"
)

// newConnLimiter caps the connections each source, and all sources together, hold open on l
// (ratelimit.ConnCap), logging the refused ones at most once per refusalLogEvery.
func newConnLimiter(l net.Listener, perSource, total int, log *slog.Logger, now func() time.Time) *ratelimit.ConnCap {
	r := &refusalLog{log: log, now: now}
	return ratelimit.NewConnCap(l, perSource, total, r.note)
}

// refusalLogEvery bounds the log lines about refused connections: a flood makes one a minute.
const refusalLogEvery = time.Minute

// refusalLog counts refused connections and logs the count at most once per refusalLogEvery.
type refusalLog struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex // guards the fields below
	refused int        // since the last log line
	logged  time.Time  // when refusals were last logged
}

func (r *refusalLog) note(f ratelimit.Refusal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused++
	if now := r.now(); now.Sub(r.logged) >= refusalLogEvery {
		r.log.Warn("connections refused at the connection cap", slog.Int("refused", r.refused),
			slog.String("last_source", f.Source), slog.Int("source_open", f.SourceOpen),
			slog.Int("open", f.Open), slog.Int("max_per_source", f.PerSource), slog.Int("max", f.Total))
		r.refused, r.logged = 0, now
	}
}
