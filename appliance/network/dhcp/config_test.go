package dhcp

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func baseConfig() Config {
	return Config{
		Interface: "clbr-test",
		ServerIP:  netip.MustParseAddr("10.0.0.1"),
		Subnet:    netip.MustParsePrefix("10.0.0.0/24"),
		Router:    netip.MustParseAddr("10.0.0.1"),
		DNS:       []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		Domain:    "net1.cloudlet",
		MTU:       1500,
		LeaseTime: 12 * time.Hour,
		Routes:    []Route{{Dest: netip.MustParsePrefix("10.8.0.0/16"), Via: netip.MustParseAddr("10.0.0.254")}},
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"valid", func(*Config) {}, true},
		{"no router, dns, routes or mtu", func(c *Config) { c.Router, c.DNS, c.Routes, c.MTU, c.Domain = netip.Addr{}, nil, nil, 0, "" }, true},
		{"no interface", func(c *Config) { c.Interface = "" }, false},
		{"ipv6 subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("fd00::/64") }, false},
		{"subnet with host bits", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.0.0.5/24") }, false},
		{"/31 subnet", func(c *Config) { c.Subnet = netip.MustParsePrefix("10.0.0.0/31") }, false},
		{"server outside subnet", func(c *Config) { c.ServerIP = netip.MustParseAddr("10.1.0.1") }, false},
		{"server is the network address", func(c *Config) { c.ServerIP = netip.MustParseAddr("10.0.0.0") }, false},
		{"server is the broadcast address", func(c *Config) { c.ServerIP = netip.MustParseAddr("10.0.0.255") }, false},
		{"router outside subnet", func(c *Config) { c.Router = netip.MustParseAddr("192.168.0.1") }, false},
		{"ipv6 dns", func(c *Config) { c.DNS = []netip.Addr{netip.MustParseAddr("fd00::1")} }, false},
		{"mtu too small", func(c *Config) { c.MTU = 67 }, false},
		{"mtu too large", func(c *Config) { c.MTU = 70000 }, false},
		{"lease too short", func(c *Config) { c.LeaseTime = time.Second }, false},
		{"bad domain", func(c *Config) { c.Domain = "bad domain" }, false},
		{"route with host bits", func(c *Config) { c.Routes[0].Dest = netip.MustParsePrefix("10.8.0.1/16") }, false},
		{"route without gateway", func(c *Config) { c.Routes[0].Via = netip.Addr{} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := baseConfig()
			tc.change(&c)
			_, err := New(c, func(net.HardwareAddr) (Reservation, bool) { return Reservation{}, false }, nil)
			if tc.ok && err != nil {
				t.Errorf("New: %v, want ok", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New: err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestNewCopiesSlices(t *testing.T) {
	c := baseConfig()
	s, err := New(c, reservations(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.DNS[0] = netip.MustParseAddr("10.0.0.99")
	if got := s.cfg.Load().DNS[0]; got != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("server DNS changed with the caller's slice: %s", got)
	}
}

func TestCheckReservation(t *testing.T) {
	c := baseConfig()
	mac := net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}
	for _, tc := range []struct {
		name string
		r    Reservation
		ok   bool
	}{
		{"valid", Reservation{MAC: mac, IP: netip.MustParseAddr("10.0.0.10"), Hostname: "web-1"}, true},
		{"other mac", Reservation{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 2}, IP: netip.MustParseAddr("10.0.0.10")}, false},
		{"outside subnet", Reservation{MAC: mac, IP: netip.MustParseAddr("10.0.1.10")}, false},
		{"gateway address", Reservation{MAC: mac, IP: netip.MustParseAddr("10.0.0.1")}, false},
		{"broadcast address", Reservation{MAC: mac, IP: netip.MustParseAddr("10.0.0.255")}, false},
		{"no address", Reservation{MAC: mac}, false},
		{"bad hostname", Reservation{MAC: mac, IP: netip.MustParseAddr("10.0.0.10"), Hostname: "a b"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkReservation(&c, mac, tc.r)
			if (err == nil) != tc.ok {
				t.Errorf("checkReservation = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
