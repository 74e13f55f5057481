package dns

import (
	"net/netip"
	"time"

	"cloudlet/appliance/ratelimit"
)

// Per-source token bucket: a guest resolving a page's worth of names stays well inside it.
const (
	limitBurst   = 100
	limitRate    = 50.0 // tokens per second
	limitBuckets = 4096 // past this, full buckets are forgotten
)

// limiter rate-limits queries per source address.
type limiter struct {
	l *ratelimit.Limiter[netip.Addr]
}

func newLimiter(now func() time.Time, burst, rate float64) *limiter {
	return &limiter{ratelimit.New[netip.Addr](now, burst, rate, limitBuckets)}
}

// allow takes a token from src's bucket and reports whether there was one.
func (l *limiter) allow(src netip.Addr) bool { return l.l.Allow(src) }
