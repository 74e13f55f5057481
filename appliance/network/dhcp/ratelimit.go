package dhcp

import (
	"net"
	"sync"
	"time"
)

// Per-MAC token bucket: a normal exchange uses two messages, retries a few more.
const (
	limitBurst   = 4
	limitRate    = 2.0  // tokens per second
	limitBuckets = 4096 // past this, full buckets are forgotten
)

type bucket struct {
	tokens float64
	last   time.Time
}

// limiter rate-limits messages per client MAC.
type limiter struct {
	now func() time.Time

	mu      sync.Mutex // guards the fields below
	buckets map[string]*bucket
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, buckets: make(map[string]*bucket)}
}

// allow takes a token from mac's bucket and reports whether there was one.
func (l *limiter) allow(mac net.HardwareAddr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[string(mac)]
	if !ok {
		l.makeRoom(now)
		b = &bucket{tokens: limitBurst, last: now}
		l.buckets[string(mac)] = b
	}
	b.tokens = min(limitBurst, b.tokens+now.Sub(b.last).Seconds()*limitRate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// makeRoom bounds the map so a flood of random MACs cannot grow it without end: buckets that have
// refilled carry no information and go first; if none has, all go.
func (l *limiter) makeRoom(now time.Time) {
	if len(l.buckets) < limitBuckets {
		return
	}
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*limitRate >= limitBurst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= limitBuckets {
		clear(l.buckets)
	}
}
