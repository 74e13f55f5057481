package web

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"cloudlet/appliance/ratelimit"
)

// connLimiter is a listener that caps the connections each source, and all sources together, hold
// open. It decides at accept time from the peer address alone, before reading a byte, and closes a
// connection past a cap at once. It never wraps the connections it hands out (net/http and
// connContext look at their concrete types: *tls.Conn, *net.UnixConn); the server reports their
// end through trackState.
//
// A hijacked connection (a websocket) leaves the count when it is hijacked.
type connLimiter struct {
	net.Listener
	perSource, total int
	log              *slog.Logger
	now              func() time.Time

	mu       sync.Mutex // guards the fields below
	open     map[net.Conn]string
	bySource map[string]int
	refused  int       // since the last log line
	logged   time.Time // when refusals were last logged
}

// refusalLogEvery bounds the log lines about refused connections: a flood makes one a minute.
const refusalLogEvery = time.Minute

func newConnLimiter(l net.Listener, perSource, total int, log *slog.Logger, now func() time.Time) *connLimiter {
	return &connLimiter{Listener: l, perSource: perSource, total: total, log: log, now: now,
		open: map[net.Conn]string{}, bySource: map[string]int{}}
}

// Accept returns the next connection within the caps; the others are closed as they come.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit(c) {
			return c, nil
		}
		c.Close()
	}
}

func (l *connLimiter) admit(c net.Conn) bool {
	key := ratelimit.SourceKey(c.RemoteAddr().String())
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.open) >= l.total || l.bySource[key] >= l.perSource {
		l.noteRefusal(key)
		return false
	}
	l.open[c] = key
	l.bySource[key]++
	return true
}

// noteRefusal counts a refused connection and logs the count at most once per refusalLogEvery.
func (l *connLimiter) noteRefusal(source string) {
	l.refused++
	if now := l.now(); now.Sub(l.logged) >= refusalLogEvery {
		l.log.Warn("connections refused at the connection cap", slog.Int("refused", l.refused),
			slog.String("last_source", source), slog.Int("source_open", l.bySource[source]),
			slog.Int("open", len(l.open)), slog.Int("max_per_source", l.perSource), slog.Int("max", l.total))
		l.refused, l.logged = 0, now
	}
}

// trackState is the server's ConnState hook: a closed or hijacked connection frees its place.
func (l *connLimiter) trackState(c net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key, ok := l.open[c]
	if !ok {
		return
	}
	delete(l.open, c)
	if l.bySource[key]--; l.bySource[key] <= 0 {
		delete(l.bySource, key)
	}
}
