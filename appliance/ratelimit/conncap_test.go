package ratelimit_test

import (
	"net"
	"net/http"
	"testing"

	"cloudlet/appliance/ratelimit"
)

// addrConn is a connection from a given peer address.
type addrConn struct {
	net.Conn
	peer net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.peer }

func from(ip string, port int) net.Conn {
	return addrConn{peer: &net.TCPAddr{IP: net.ParseIP(ip), Port: port}}
}

// A connection cap admits perSource connections per source and total in all, tells its owner of each
// refusal with the counts, and takes a connection back when the server reports it closed or hijacked.
func TestConnCapAdmitsWithinItsCapsAndFreesAPlaceWhenAConnectionEnds(t *testing.T) {
	var refusals []ratelimit.Refusal
	c := ratelimit.NewConnCap(nil, 2, 3, func(r ratelimit.Refusal) { refusals = append(refusals, r) })
	a1, a2, a3 := from("10.0.0.1", 1), from("10.0.0.1", 2), from("10.0.0.1", 3)
	b1, d1 := from("10.0.0.2", 1), from("10.0.0.3", 1)
	for _, tt := range []struct {
		conn net.Conn
		want bool
	}{{a1, true}, {a2, true}, {a3, false}, {b1, true}, {d1, false}} {
		if got := c.Admit(tt.conn); got != tt.want {
			t.Errorf("Admit(%v) = %v, want %v", tt.conn.RemoteAddr(), got, tt.want)
		}
	}
	want := []ratelimit.Refusal{
		{Source: "10.0.0.1", SourceOpen: 2, Open: 2, PerSource: 2, Total: 3},
		{Source: "10.0.0.3", SourceOpen: 0, Open: 3, PerSource: 2, Total: 3},
	}
	if len(refusals) != len(want) || refusals[0] != want[0] || refusals[1] != want[1] {
		t.Errorf("refusals %+v, want %+v", refusals, want)
	}
	c.TrackState(a1, http.StateActive) // not an end
	if c.Admit(a3) {
		t.Error("an active connection freed its place")
	}
	c.TrackState(a1, http.StateClosed)
	if !c.Admit(a3) {
		t.Error("a closed connection did not free its place")
	}
	c.TrackState(b1, http.StateHijacked)
	if !c.Admit(d1) {
		t.Error("a hijacked connection did not free its place")
	}
}
