package web

import "time"

// Limits bound what a client can hold of the server without a login: time to send headers, an
// idle keep-alive, a body's or a response's progress, open connections per source, and the audit
// records its failures cost. Zero fields take the defaults below.
type Limits struct {
	// HeaderTimeout is how long a client has to send a request's headers (and a TLS handshake).
	HeaderTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next request.
	IdleTimeout time.Duration
	// MinBodyRate is the slowest a request body may arrive, in bytes per second, measured over
	// each RateWindow: a body that delivers less than MinBodyRate×RateWindow bytes in a window is cut.
	// Whole uploads have no time limit: only stalls are cut.
	MinBodyRate int64
	RateWindow  time.Duration
	// WriteTimeout bounds each write of a response: a client that stops reading is cut, one that
	// reads a long download (image, backup) at any sensible speed is not.
	WriteTimeout time.Duration
	// MaxConnsPerSource caps the TCP connections one source (an IPv4 address, an IPv6 /64) holds open;
	// MaxConns caps all of them together. Connections past a cap are closed as they are accepted.
	MaxConnsPerSource int
	MaxConns          int
	// AuditWindow is how long the audit entries of unauthenticated failures are aggregated before
	// they are written; AuditKeys caps the distinct (source, route, status) kept per window, past
	// which failures count in one "other" entry.
	AuditWindow time.Duration
	AuditKeys   int
}

// Default limits.
const (
	DefaultHeaderTimeout     = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMinBodyRate       = 1024 // bytes per second
	DefaultRateWindow        = 20 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultMaxConnsPerSource = 64
	DefaultMaxConns          = 4096
	DefaultAuditWindow       = time.Minute
	DefaultAuditKeys         = 256
)

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.HeaderTimeout, DefaultHeaderTimeout)
	def(&l.IdleTimeout, DefaultIdleTimeout)
	def(&l.RateWindow, DefaultRateWindow)
	def(&l.WriteTimeout, DefaultWriteTimeout)
	def(&l.AuditWindow, DefaultAuditWindow)
	if l.MinBodyRate <= 0 {
		l.MinBodyRate = DefaultMinBodyRate
	}
	if l.MaxConnsPerSource <= 0 {
		l.MaxConnsPerSource = DefaultMaxConnsPerSource
	}
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.AuditKeys <= 0 {
		l.AuditKeys = DefaultAuditKeys
	}
	return l
}
