package dns

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Addresses on the namespace's loopback: the server, two upstreams, and client sources.
var (
	serverAddr = netip.MustParseAddrPort("127.0.0.1:53")
	upstream1  = netip.MustParseAddrPort("127.0.0.2:53")
	upstream2  = netip.MustParseAddrPort("127.0.0.3:53")
	client1    = netip.MustParseAddr("127.0.0.10")
	client2    = netip.MustParseAddr("127.0.0.11")
)

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func needNetns(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a network namespace")
	}
}

// catalog is a Lookup over a fixed map that counts its calls.
type catalog struct {
	names map[string][]netip.Addr
	calls atomic.Int64
}

func (c *catalog) lookup(name string) ([]netip.Addr, bool) {
	c.calls.Add(1)
	a, ok := c.names[name]
	return a, ok
}

func testCatalog() *catalog {
	many := make([]netip.Addr, 40)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 10)})
	}
	return &catalog{names: map[string][]netip.Addr{
		"web-1.net1.cloudlet.": {netip.MustParseAddr("10.0.1.5")},
		"db.net1.cloudlet.":    {netip.MustParseAddr("10.0.1.6"), netip.MustParseAddr("fd00::6")},
		"big.net1.cloudlet.":   many,
	}}
}

func testConfig(ups ...netip.AddrPort) Config {
	return Config{Listen: serverAddr, Domain: "cloudlet", Upstreams: ups, TTL: time.Minute}
}

// start runs a server with a short upstream timeout and closes it at the end of the test.
// tweaks change the server before it starts.
func start(t *testing.T, cfg Config, cat *catalog, tweaks ...func(*Server)) *Server {
	t.Helper()
	needNetns(t)
	s, err := New(cfg, cat.lookup, testLogger(t))
	must(t, "New", err)
	s.timeout = 300 * time.Millisecond
	for _, f := range tweaks {
		f(s)
	}
	must(t, "Start", s.Start())
	t.Cleanup(func() { s.Close() })
	return s
}

// upstream is a fake resolver: answer builds its reply to each query (nil: stay silent).
type upstream struct {
	conn    *net.UDPConn
	queries atomic.Int64
	lastID  atomic.Uint32
}

func startUpstream(t *testing.T, addr netip.AddrPort, answer func(q *message) []byte) *upstream {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	must(t, "listen fake upstream", err)
	u := &upstream{conn: conn}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			q, err := parse(buf[:n])
			if err != nil {
				continue
			}
			u.queries.Add(1)
			u.lastID.Store(uint32(q.ID))
			if r := answer(q); r != nil {
				conn.WriteToUDPAddrPort(r, from)
			}
		}
	}()
	return u
}

// answerWith is an upstream that answers every query with addrs.
func answerWith(addrs ...string) func(q *message) []byte {
	return func(q *message) []byte {
		h := header{ID: q.ID, Flags: flagQR | flagRD | flagRA, QD: 1, AN: uint16(len(addrs))}
		b := append(h.append(nil), q.rawQ...)
		for _, a := range addrs {
			b = appendA(b, 300, netip.MustParseAddr(a))
		}
		return b
	}
}

func silent(*message) []byte { return nil }

// result is what a client learns from a reply, in comparable form.
type result struct {
	ID      uint16
	Rcode   uint16
	AA, TC  bool
	Answers []string
}

func resultOf(t *testing.T, b []byte) result {
	t.Helper()
	m, err := parse(b)
	must(t, "parse reply", err)
	r := result{ID: m.ID, Rcode: m.rcode(), AA: m.Flags&flagAA != 0, TC: m.Flags&flagTC != 0}
	off := headerLen + len(m.rawQ)
	for range m.AN {
		typ, _, end, err := skipRecord(b, off)
		must(t, "answer", err)
		if typ == typeA {
			r.Answers = append(r.Answers, netip.AddrFrom4([4]byte(b[end-4:end])).String())
		}
		off = end
	}
	return r
}

// exchangeUDP sends pkt from src and returns the reply, or nil after wait.
func exchangeUDP(t *testing.T, src netip.Addr, pkt []byte, wait time.Duration) []byte {
	t.Helper()
	c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), net.UDPAddrFromAddrPort(serverAddr))
	must(t, "dial udp", err)
	defer c.Close()
	_, err = c.Write(pkt)
	must(t, "write udp", err)
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, maxMsgSize)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func exchangeTCP(t *testing.T, src netip.Addr, pkt []byte) []byte {
	t.Helper()
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), Timeout: 2 * time.Second}
	c, err := d.Dial("tcp4", serverAddr.String())
	must(t, "dial tcp", err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	_, err = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(pkt))), pkt...))
	must(t, "write tcp", err)
	var l [2]byte
	_, err = io.ReadFull(c, l[:])
	must(t, "read tcp length", err)
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	_, err = io.ReadFull(c, buf)
	must(t, "read tcp", err)
	return buf
}

// ask sends one query over network ("udp" or "tcp") from client1 and returns the result.
func ask(t *testing.T, network string, id uint16, name string, typ uint16, edns int) result {
	t.Helper()
	q := newQuery(id, name, typ, edns)
	var b []byte
	switch network {
	case "udp":
		if b = exchangeUDP(t, client1, q, 3*time.Second); b == nil {
			t.Fatalf("no udp reply to %s", name)
		}
	case "tcp":
		b = exchangeTCP(t, client1, q)
	default:
		panic(network)
	}
	return resultOf(t, b)
}

func ips(prefix string, from, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s.%d", strings.TrimSuffix(prefix, "."), from+i))
	}
	return out
}
