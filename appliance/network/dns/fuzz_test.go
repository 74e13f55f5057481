package dns

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
)

// fuzzServer answers every name under "cloudlet." with one IPv4 and one IPv6 address, and has no
// upstreams (names outside the domain are REFUSED, never forwarded).
func fuzzServer(t testing.TB) (*Server, *Config) {
	lookup := func(string) ([]netip.Addr, bool) {
		return []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fd00::5")}, true
	}
	s, err := New(Config{Listen: netip.MustParseAddrPort("127.0.0.53:53"), Domain: "cloudlet", TTL: 5e9}, lookup, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, s.cfg.Load()
}

// FuzzParseMessage: no bytes from a guest make parse panic or loop; what it accepts has exactly one
// question whose name is canonical (lower case, escaped, with the trailing dot) and at most 255
// bytes on the wire, an EDNS size of 0 or 512 and more; and the server's own reply to it parses
// back to the same ID and question and fits the sender's limit.
func FuzzParseMessage(f *testing.F) {
	s, c := fuzzServer(f)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		q, err := parse(pkt)
		if err != nil {
			return
		}
		if q.QD != 1 || !canonicalName(q.Q.Name) || !bytes.Equal(q.rawQ, pkt[headerLen:headerLen+len(q.rawQ)]) {
			t.Fatalf("accepted question %+v (raw % x)", q.Q, q.rawQ)
		}
		if q.EDNS != 0 && (q.EDNS < maxUDPSize || q.EDNS > maxMsgSize) {
			t.Fatalf("accepted EDNS size %d", q.EDNS)
		}
		if q.Flags&flagQR != 0 {
			return // admit drops replies; forward reads them, and keeps only a matching one
		}
		limit := udpLimit(q)
		reply := s.respond(context.Background(), c, q, pkt, limit)
		if len(reply) > limit {
			t.Fatalf("reply of %d bytes over the limit %d", len(reply), limit)
		}
		r, err := parse(reply)
		if err != nil {
			t.Fatalf("the reply to % x does not parse: %v\nreply % x", pkt, err, reply)
		}
		if r.ID != q.ID || r.Flags&flagQR == 0 || r.Q != q.Q {
			t.Fatalf("reply %+v %+v to query %+v %+v", r.header, r.Q, q.header, q.Q)
		}
	})
}

// canonicalName reports whether name is in readName's form: labels of lower-case letters, digits,
// '-', '_' and \DDD escapes, each ending in a dot, or the root ".", within 255 bytes on the wire.
func canonicalName(name string) bool {
	if name == "." {
		return true
	}
	if !strings.HasSuffix(name, ".") {
		return false
	}
	wire := 1
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		n := 0
		for i := 0; i < len(l); i++ {
			switch c := l[i]; {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			case c == '\\' && i+3 < len(l) && isDigits(l[i+1:i+4]):
				i += 3
			default:
				return false
			}
			n++
		}
		if n == 0 || n > 63 {
			return false
		}
		wire += 1 + n
	}
	return wire <= maxNameLen
}

func isDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}
