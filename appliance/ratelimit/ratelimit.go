// Package ratelimit is the per-client token bucket that cloudlet's servers share: the network
// servers (DHCP, DNS) per guest, so one chatty or hostile guest cannot make a server spin, and
// identity's logins per user and per source address. ConnCap is the per-source connection cap of the
// web server's and the metadata service's listeners; SourceKey is its key, and audit aggregation's. It
// imports nothing from the project.
package ratelimit

import (
	"sync"
	"time"
)

type bucket struct {
	tokens float64
	last   time.Time
}

// Limiter gives each key (a MAC, a source address) a bucket of burst tokens refilled at rate per
// second, and remembers at most maxKeys buckets.
type Limiter[K comparable] struct {
	now     func() time.Time
	burst   float64
	rate    float64
	maxKeys int

	mu      sync.Mutex // guards the fields below
	buckets map[K]*bucket
}

// New returns a limiter; now is its clock (time.Now outside tests).
func New[K comparable](now func() time.Time, burst, rate float64, maxKeys int) *Limiter[K] {
	return &Limiter[K]{now: now, burst: burst, rate: rate, maxKeys: maxKeys, buckets: make(map[K]*bucket)}
}

// Allow takes a token from k's bucket and reports whether there was one.
func (l *Limiter[K]) Allow(k K) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[k]
	if !ok {
		l.makeRoom(now)
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[k] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Len is how many buckets are remembered.
func (l *Limiter[K]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// makeRoom bounds the map so a flood of new keys cannot grow it without end: buckets that have
// refilled carry no information and go first; if none has, all go.
func (l *Limiter[K]) makeRoom(now time.Time) {
	if len(l.buckets) < l.maxKeys {
		return
	}
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.maxKeys {
		clear(l.buckets)
	}
}
