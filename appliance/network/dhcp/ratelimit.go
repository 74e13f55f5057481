package dhcp

import (
	"net"
	"time"

	"cloudlet/appliance/ratelimit"
)

// Per-MAC token bucket: a normal exchange uses two messages, retries a few more.
const (
	limitBurst   = 4
	limitRate    = 2.0  // tokens per second
	limitBuckets = 4096 // past this, full buckets are forgotten
)

// limiter rate-limits messages per client MAC.
type limiter struct{ l *ratelimit.Limiter[string] }

func newLimiter(now func() time.Time) *limiter {
	return &limiter{ratelimit.New[string](now, limitBurst, limitRate, limitBuckets)}
}

// allow takes a token from mac's bucket and reports whether there was one.
func (l *limiter) allow(mac net.HardwareAddr) bool { return l.l.Allow(string(mac)) }
