package ratelimit

import (
	"net"
	"net/http"
	"sync"
)

// ConnCap is a listener that caps the connections each source (SourceKey of the peer address), and all
// sources together, hold open. It decides at accept time from the peer address alone, before reading a
// byte, and closes a connection past a cap at once: a client that opens connections without end costs
// the others nothing. It never wraps the connections it hands out (net/http looks at their concrete
// types: *tls.Conn, *net.UnixConn); the server reports their end through TrackState, its ConnState hook.
// A hijacked connection (a websocket) leaves the count when it is hijacked.
type ConnCap struct {
	net.Listener
	perSource, total int
	onRefuse         func(Refusal)

	mu       sync.Mutex // guards the fields below
	open     map[net.Conn]string
	bySource map[string]int
}

// Refusal describes a connection closed at a cap, for the owner's log.
type Refusal struct {
	Source           string // SourceKey of the refused peer
	SourceOpen, Open int    // connections open from that source, and in all, when it was refused
	PerSource, Total int    // the caps
}

// NewConnCap caps l at perSource connections per source and total in all. onRefuse, when not nil, is
// told of each refused connection; it runs with the cap's lock held, so it must be quick and must not
// call the cap.
func NewConnCap(l net.Listener, perSource, total int, onRefuse func(Refusal)) *ConnCap {
	return &ConnCap{Listener: l, perSource: perSource, total: total, onRefuse: onRefuse,
		open: map[net.Conn]string{}, bySource: map[string]int{}}
}

// Accept returns the next connection within the caps; the others are closed as they come.
func (l *ConnCap) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.Admit(c) {
			return c, nil
		}
		c.Close()
	}
}

// Admit counts c in if it is within the caps, and reports whether it is; the caller closes a refused c.
func (l *ConnCap) Admit(c net.Conn) bool {
	key := SourceKey(c.RemoteAddr().String())
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.open) >= l.total || l.bySource[key] >= l.perSource {
		if l.onRefuse != nil {
			l.onRefuse(Refusal{Source: key, SourceOpen: l.bySource[key], Open: len(l.open),
				PerSource: l.perSource, Total: l.total})
		}
		return false
	}
	l.open[c] = key
	l.bySource[key]++
	return true
}

// TrackState is the server's ConnState hook: a closed or hijacked connection frees its place.
func (l *ConnCap) TrackState(c net.Conn, st http.ConnState) {
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
