package dns

import (
	"net/netip"
	"sync"
	"time"
)

// Per-source token bucket: a guest resolving a page's worth of names stays well inside it.
const (
	limitBurst   = 100
	limitRate    = 50.0 // tokens per second
	limitBuckets = 4096 // past this, full buckets are forgotten
)

type bucket struct {
	tokens float64
	last   time.Time
}

// limiter rate-limits queries per source address.
type limiter struct {
	now   func() time.Time
	burst float64
	rate  float64 // tokens per second

	mu      sync.Mutex // guards the fields below
	buckets map[netip.Addr]*bucket
}

func newLimiter(now func() time.Time, burst, rate float64) *limiter {
	return &limiter{now: now, burst: burst, rate: rate, buckets: make(map[netip.Addr]*bucket)}
}

// allow takes a token from src's bucket and reports whether there was one.
func (l *limiter) allow(src netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[src]
	if !ok {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[src] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// makeRoom bounds the map: buckets that have refilled carry no information and go first; if none
// has, all go.
func (l *limiter) makeRoom(now time.Time) {
	if len(l.buckets) < limitBuckets {
		return
	}
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= limitBuckets {
		clear(l.buckets)
	}
}
