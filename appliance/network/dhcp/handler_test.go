package dhcp

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

var (
	knownMAC   = net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}
	unknownMAC = net.HardwareAddr{0x52, 0x54, 0, 0, 0, 9}
	badMAC     = net.HardwareAddr{0x52, 0x54, 0, 0, 0, 7} // its reservation is outside the subnet
	reserved   = netip.MustParseAddr("10.0.0.10")
)

func testServer(t *testing.T) *Server {
	s, err := New(baseConfig(), reservations(
		Reservation{MAC: knownMAC, IP: reserved, Hostname: "web-1"},
		Reservation{MAC: badMAC, IP: netip.MustParseAddr("10.9.9.9")}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func msg(t *testing.T, mac net.HardwareAddr, typ dhcpv4.MessageType, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	m, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(typ)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func requested(a string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(a)))
}

func serverID(a string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(a)))
}

func TestHandle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     func(t *testing.T) *dhcpv4.DHCPv4
		want    dhcpv4.MessageType // MessageTypeNone: no reply
		counted func(Stats) uint64
	}{
		{"discover from a known mac", func(t *testing.T) *dhcpv4.DHCPv4 { return msg(t, knownMAC, dhcpv4.MessageTypeDiscover) },
			dhcpv4.MessageTypeOffer, func(s Stats) uint64 { return s.Offers }},
		{"discover from an unknown mac", func(t *testing.T) *dhcpv4.DHCPv4 { return msg(t, unknownMAC, dhcpv4.MessageTypeDiscover) },
			dhcpv4.MessageTypeNone, func(s Stats) uint64 { return s.IgnoredUnknownMAC }},
		{"invalid reservation", func(t *testing.T) *dhcpv4.DHCPv4 { return msg(t, badMAC, dhcpv4.MessageTypeDiscover) },
			dhcpv4.MessageTypeNone, func(s Stats) uint64 { return s.IgnoredUnknownMAC }},
		{"selecting the reserved address", func(t *testing.T) *dhcpv4.DHCPv4 {
			return msg(t, knownMAC, dhcpv4.MessageTypeRequest, requested("10.0.0.10"), serverID("10.0.0.1"))
		}, dhcpv4.MessageTypeAck, func(s Stats) uint64 { return s.Acks }},
		{"selecting another address", func(t *testing.T) *dhcpv4.DHCPv4 {
			return msg(t, knownMAC, dhcpv4.MessageTypeRequest, requested("10.0.0.11"), serverID("10.0.0.1"))
		}, dhcpv4.MessageTypeNak, func(s Stats) uint64 { return s.Naks }},
		{"selecting another server", func(t *testing.T) *dhcpv4.DHCPv4 {
			return msg(t, knownMAC, dhcpv4.MessageTypeRequest, requested("10.0.0.11"), serverID("10.0.0.2"))
		}, dhcpv4.MessageTypeNone, func(s Stats) uint64 { return 1 }},
		{"init-reboot with the reserved address", func(t *testing.T) *dhcpv4.DHCPv4 {
			return msg(t, knownMAC, dhcpv4.MessageTypeRequest, requested("10.0.0.10"))
		}, dhcpv4.MessageTypeAck, func(s Stats) uint64 { return s.Acks }},
		{"renewing the reserved address", func(t *testing.T) *dhcpv4.DHCPv4 {
			return msg(t, knownMAC, dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(net.ParseIP("10.0.0.10")))
		}, dhcpv4.MessageTypeAck, func(s Stats) uint64 { return s.Acks }},
		{"renewing another address", func(t *testing.T) *dhcpv4.DHCPv4 {
			return msg(t, knownMAC, dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(net.ParseIP("10.0.0.12")))
		}, dhcpv4.MessageTypeNak, func(s Stats) uint64 { return s.Naks }},
		{"request without any address", func(t *testing.T) *dhcpv4.DHCPv4 { return msg(t, knownMAC, dhcpv4.MessageTypeRequest) },
			dhcpv4.MessageTypeNak, func(s Stats) uint64 { return s.Naks }},
		{"request from an unknown mac", func(t *testing.T) *dhcpv4.DHCPv4 {
			return msg(t, unknownMAC, dhcpv4.MessageTypeRequest, requested("10.0.0.10"))
		}, dhcpv4.MessageTypeNone, func(s Stats) uint64 { return s.IgnoredUnknownMAC }},
		{"offer from a guest", func(t *testing.T) *dhcpv4.DHCPv4 {
			m := msg(t, knownMAC, dhcpv4.MessageTypeOffer)
			m.OpCode = dhcpv4.OpcodeBootReply
			return m
		}, dhcpv4.MessageTypeNone, func(s Stats) uint64 { return s.IgnoredServerMessages }},
		{"ack with a request opcode", func(t *testing.T) *dhcpv4.DHCPv4 { return msg(t, knownMAC, dhcpv4.MessageTypeAck) },
			dhcpv4.MessageTypeNone, func(s Stats) uint64 { return s.IgnoredServerMessages }},
		{"relayed discover", func(t *testing.T) *dhcpv4.DHCPv4 {
			return msg(t, knownMAC, dhcpv4.MessageTypeDiscover, dhcpv4.WithGatewayIP(net.ParseIP("10.0.0.5")))
		}, dhcpv4.MessageTypeNone, func(s Stats) uint64 { return s.IgnoredInvalid }},
		{"release", func(t *testing.T) *dhcpv4.DHCPv4 { return msg(t, knownMAC, dhcpv4.MessageTypeRelease) },
			dhcpv4.MessageTypeNone, func(s Stats) uint64 { return 1 }},
		{"decline", func(t *testing.T) *dhcpv4.DHCPv4 { return msg(t, knownMAC, dhcpv4.MessageTypeDecline) },
			dhcpv4.MessageTypeNone, func(s Stats) uint64 { return 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t)
			req := tc.req(t)
			resp := s.handle(req)
			got := dhcpv4.MessageTypeNone
			if resp != nil {
				got = resp.MessageType()
			}
			if got != tc.want {
				t.Fatalf("reply = %s, want %s", got, tc.want)
			}
			if n := tc.counted(s.Stats()); n != 1 {
				t.Errorf("counter = %d, want 1 (stats %+v)", n, s.Stats())
			}
			if resp == nil {
				return
			}
			if resp.TransactionID != req.TransactionID || resp.OpCode != dhcpv4.OpcodeBootReply {
				t.Errorf("reply xid %s op %s, want xid %s and BootReply", resp.TransactionID, resp.OpCode, req.TransactionID)
			}
			wantYI := reserved.String()
			if got == dhcpv4.MessageTypeNak {
				wantYI = "0.0.0.0"
			}
			if resp.YourIPAddr.String() != wantYI {
				t.Errorf("yiaddr = %s, want %s", resp.YourIPAddr, wantYI)
			}
			if got != dhcpv4.MessageTypeNak && resp.HostName() != "web-1" {
				t.Errorf("hostname = %q, want web-1", resp.HostName())
			}
		})
	}
}

func TestHandleRateLimitsPerMAC(t *testing.T) {
	s := testServer(t)
	now := time.Unix(1000, 0)
	s.limit = newLimiter(func() time.Time { return now })
	for range 100 {
		s.handle(msg(t, knownMAC, dhcpv4.MessageTypeDiscover))
	}
	if st := s.Stats(); st.Offers != limitBurst || st.IgnoredRateLimited != 100-limitBurst {
		t.Errorf("after 100 discovers at once: stats %+v, want %d offers", st, limitBurst)
	}
	// Another MAC has a bucket of its own; a second later the first has tokens again.
	if s.handle(msg(t, unknownMAC, dhcpv4.MessageTypeDiscover)); s.Stats().IgnoredUnknownMAC != 1 {
		t.Errorf("another mac was rate limited too")
	}
	now = now.Add(time.Second)
	if s.handle(msg(t, knownMAC, dhcpv4.MessageTypeDiscover)) == nil {
		t.Errorf("no offer a second after the flood")
	}
}

func TestLimiterForgetsRefilledBuckets(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(func() time.Time { return now })
	for i := range limitBuckets + 10 {
		l.allow(net.HardwareAddr{0x02, 0, 0, 0, byte(i >> 8), byte(i)})
	}
	if n := l.l.Len(); n > limitBuckets {
		t.Errorf("%d buckets, want at most %d", n, limitBuckets)
	}
	now = now.Add(time.Minute)
	l.allow(net.HardwareAddr{0x02, 1, 1, 1, 1, 1})
	if n := l.l.Len(); n > limitBuckets {
		t.Errorf("%d buckets after refill, want at most %d", n, limitBuckets)
	}
}

func TestReplyDest(t *testing.T) {
	bcast := netip.MustParseAddr("255.255.255.255")
	for _, tc := range []struct {
		name      string
		ciaddr    string
		broadcast bool
		typ       dhcpv4.MessageType
		want      destination
	}{
		{"no address, broadcast flag", "0.0.0.0", true, dhcpv4.MessageTypeOffer, destination{IP: bcast}},
		{"no address, no flag: unicast to yiaddr and chaddr", "0.0.0.0", false, dhcpv4.MessageTypeOffer,
			destination{IP: reserved, Resolve: true}},
		{"renewing: unicast to ciaddr", "10.0.0.10", false, dhcpv4.MessageTypeAck, destination{IP: reserved}},
		{"renewing with the flag: still ciaddr", "10.0.0.10", true, dhcpv4.MessageTypeAck, destination{IP: reserved}},
		{"nak: broadcast", "10.0.0.10", false, dhcpv4.MessageTypeNak, destination{IP: bcast}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := msg(t, knownMAC, dhcpv4.MessageTypeRequest, dhcpv4.WithClientIP(net.ParseIP(tc.ciaddr)),
				dhcpv4.WithBroadcast(tc.broadcast))
			resp, _ := dhcpv4.NewReplyFromRequest(req, dhcpv4.WithMessageType(tc.typ))
			if tc.typ != dhcpv4.MessageTypeNak {
				resp.YourIPAddr = ip(reserved)
			}
			if got := replyDest(req, resp); got != tc.want {
				t.Errorf("replyDest = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// newReply must build what dhcpv4.NewReplyFromRequest does (it only skips drawing a random xid).
func TestNewReplyIsTheLibrarysReply(t *testing.T) {
	for _, tc := range []struct {
		name string
		mods []dhcpv4.Modifier
	}{
		{"plain discover", nil},
		{"broadcast flag", []dhcpv4.Modifier{dhcpv4.WithBroadcast(true)}},
		{"client identifier and relay agent information", []dhcpv4.Modifier{
			dhcpv4.WithOption(dhcpv4.OptClientIdentifier([]byte{1, 0x52, 0x54, 0, 0, 0, 1})),
			dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.OptionRelayAgentInformation, []byte{1, 2, 'a', 'b'})),
		}},
		{"renewing, with ciaddr", []dhcpv4.Modifier{dhcpv4.WithClientIP(net.ParseIP("10.0.0.10"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := msg(t, knownMAC, dhcpv4.MessageTypeDiscover, tc.mods...)
			want, err := dhcpv4.NewReplyFromRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.ToBytes(), newReply(req).ToBytes()); diff != "" {
				t.Errorf("newReply differs from dhcpv4.NewReplyFromRequest (-want +got):\n%s\nwant %s\ngot  %s", diff, want.Summary(), newReply(req).Summary())
			}
		})
	}
}

// TestOnAckHearsEveryGrantedLease: only an ACK tells the hook, with the reservation it granted.
func TestOnAckHearsEveryGrantedLease(t *testing.T) {
	s := testServer(t)
	got := make(chan Reservation, 4)
	s.OnAck(func(r Reservation) { got <- r })
	s.handle(msg(t, knownMAC, dhcpv4.MessageTypeDiscover))
	s.handle(msg(t, knownMAC, dhcpv4.MessageTypeRequest, requested("10.0.0.99"), serverID("10.0.0.1"))) // NAK
	time.Sleep(50 * time.Millisecond)
	if len(got) != 0 {
		t.Fatalf("the hook heard %v before any ACK", <-got)
	}
	s.limit = newLimiter(func() time.Time { return time.Now().Add(time.Hour) }) // past the per-MAC limit
	s.handle(msg(t, knownMAC, dhcpv4.MessageTypeRequest, requested("10.0.0.10"), serverID("10.0.0.1")))
	select {
	case r := <-got:
		if r.IP != reserved || r.MAC.String() != knownMAC.String() || r.Hostname != "web-1" {
			t.Errorf("the hook heard %+v, want the reservation of %s", r, knownMAC)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the hook did not hear the ACK")
	}
}
