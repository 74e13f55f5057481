package guest

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// connCap is a listener that caps the connections each source address, and all sources together,
// hold open on one network's metadata listener. It decides at accept time from the peer address,
// before reading a byte, and closes a connection past a cap at once: a guest that opens connections
// without end costs the others nothing. The server reports a connection's end through trackState.
type connCap struct {
	net.Listener
	perSource, total int

	mu       sync.Mutex // guards the fields below
	open     map[net.Conn]netip.Addr
	bySource map[netip.Addr]int
	refused  int // connections closed at a cap, for tests and stats
}

func newConnCap(l net.Listener, perSource, total int) *connCap {
	return &connCap{Listener: l, perSource: perSource, total: total,
		open: map[net.Conn]netip.Addr{}, bySource: map[netip.Addr]int{}}
}

// Accept returns the next connection within the caps; the others are closed as they come.
func (l *connCap) Accept() (net.Conn, error) {
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

func (l *connCap) admit(c net.Conn) bool {
	src := peerAddr(c)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.open) >= l.total || l.bySource[src] >= l.perSource {
		l.refused++
		return false
	}
	l.open[c] = src
	l.bySource[src]++
	return true
}

// trackState is the server's ConnState hook: a closed or hijacked connection frees its place.
func (l *connCap) trackState(c net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	src, ok := l.open[c]
	if !ok {
		return
	}
	delete(l.open, c)
	if l.bySource[src]--; l.bySource[src] <= 0 {
		delete(l.bySource, src)
	}
}

// peerAddr is the TCP peer's address (IPv4-mapped addresses unmapped); invalid for anything else.
func peerAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
