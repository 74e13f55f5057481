package network

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"cloudlet/appliance/network/dns"
)

// TestServerStatsSumNetworksAndKeepThoseGone: the metrics' DHCP/DNS counters are the sums over every
// network's servers, and a network going away does not take its counts with it (a counter never
// goes down).
func TestServerStatsSumNetworksAndKeepThoseGone(t *testing.T) {
	srv, addr := startLoopbackDNS(t)
	s := &Service{dp: &datapath{nets: map[string]*netRuntime{"n1": {dns: srv}, "n2": {}}}}
	query(t, addr)
	if _, got := s.ServerStats(); got.Queries != 1 || got.NXDomain != 1 {
		t.Fatalf("DNS stats = %+v, want 1 query answered NXDOMAIN", got)
	}
	s.dp.mu.Lock()
	s.dp.retireLocked(s.dp.nets["n1"])
	delete(s.dp.nets, "n1")
	s.dp.mu.Unlock()
	srv.Close()
	if _, got := s.ServerStats(); got.Queries != 1 || got.NXDomain != 1 {
		t.Errorf("DNS stats after the network went = %+v, want the query still counted", got)
	}
	if d, n := (&Service{}).ServerStats(); d.Acks != 0 || n.Queries != 0 {
		t.Errorf("no datapath: %+v %+v, want zeros", d, n)
	}
}

// startLoopbackDNS serves an empty "cloudlet." zone on a free loopback port.
func startLoopbackDNS(t *testing.T) (*dns.Server, netip.AddrPort) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	srv, err := dns.New(dns.Config{Listen: addr, Domain: "cloudlet",
		TTL: time.Minute}, func(string) ([]netip.Addr, bool) { return nil, false }, slog.New(slog.DiscardHandler))
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, addr
}

// query asks the server at addr for the A record of x.cloudlet. and waits for the answer.
func query(t *testing.T, addr netip.AddrPort) {
	t.Helper()
	c, err := net.Dial("udp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'x', 8, 'c', 'l', 'o', 'u', 'd', 'l', 'e', 't', 0, 0, 1, 0, 1}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 512)); err != nil {
		t.Fatal(err)
	}
}
