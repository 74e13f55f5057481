package dhcp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// TestLeaseOptionsEncoding checks the bytes on the wire of every option, after a round trip
// through the message encoding.
func TestLeaseOptionsEncoding(t *testing.T) {
	c := baseConfig()
	opts := leaseOptions(&c, Reservation{Hostname: "web-1"})
	m, err := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeAck))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		m.UpdateOption(o)
	}
	m, err = dhcpv4.FromBytes(m.ToBytes())
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint8][]byte{
		1:   {255, 255, 255, 0},
		3:   {10, 0, 0, 1},
		6:   {10, 0, 0, 1},
		12:  []byte("web-1"),
		15:  []byte("net1.cloudlet"),
		26:  {0x05, 0xdc},
		28:  {10, 0, 0, 255},
		51:  {0, 0, 0xa8, 0xc0}, // 43200 s
		53:  {5},
		54:  {10, 0, 0, 1},
		58:  {0, 0, 0x54, 0x60},                         // 21600 s
		59:  {0, 0, 0x93, 0xa8},                         // 37800 s
		121: {16, 10, 8, 10, 0, 0, 254, 0, 10, 0, 0, 1}, // RFC 3442: 10.8/16 via .254, then default via router
	}
	got := map[uint8][]byte{}
	for code, v := range m.Options {
		got[code] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func TestClasslessRoutes(t *testing.T) {
	gw := netip.MustParseAddr("10.0.0.1")
	other := netip.MustParseAddr("10.0.0.254")
	for _, tc := range []struct {
		name   string
		router netip.Addr
		routes []Route
		want   []byte
	}{
		{"none", gw, nil, nil},
		{"default added for the router", gw, []Route{{netip.MustParsePrefix("192.168.1.0/24"), other}},
			[]byte{24, 192, 168, 1, 10, 0, 0, 254, 0, 10, 0, 0, 1}},
		{"own default kept", gw, []Route{{netip.MustParsePrefix("0.0.0.0/0"), other}},
			[]byte{0, 10, 0, 0, 254}},
		{"no router, no default", netip.Addr{}, []Route{{netip.MustParsePrefix("10.1.2.3/32"), other}},
			[]byte{32, 10, 1, 2, 3, 10, 0, 0, 254}},
		{"odd prefix keeps the significant octets", gw, []Route{{netip.MustParsePrefix("172.16.0.0/12"), other}},
			[]byte{12, 172, 16, 10, 0, 0, 254, 0, 10, 0, 0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig()
			c.Router, c.Routes = tc.router, tc.routes
			var got []byte
			if rs := classlessRoutes(&c); rs != nil {
				got = dhcpv4.Routes(rs).ToBytes()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("option 121 (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoOptionalOptionsWhenUnset(t *testing.T) {
	c := baseConfig()
	c.Router, c.DNS, c.Domain, c.MTU, c.Routes = netip.Addr{}, nil, "", 0, nil
	m, _ := dhcpv4.New()
	for _, o := range leaseOptions(&c, Reservation{}) {
		m.UpdateOption(o)
	}
	for _, code := range []dhcpv4.OptionCode{dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
		dhcpv4.OptionDomainName, dhcpv4.OptionHostName, dhcpv4.OptionInterfaceMTU, dhcpv4.OptionClasslessStaticRoute} {
		if m.Options.Has(code) {
			t.Errorf("option %s present, want absent", code)
		}
	}
	if got := m.IPAddressLeaseTime(0); got != 12*time.Hour {
		t.Errorf("lease time = %s, want 12h", got)
	}
}
