package dns

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	ok := func(c *Config) {}
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		valid  bool
	}{
		{"valid", ok, true},
		{"domain with trailing dot", func(c *Config) { c.Domain = "Cloudlet." }, true},
		{"no upstreams", func(c *Config) { c.Upstreams = nil }, true},
		{"no listen", func(c *Config) { c.Listen = netip.AddrPort{} }, false},
		{"ipv6 listen", func(c *Config) { c.Listen = netip.MustParseAddrPort("[::1]:53") }, false},
		{"port 0", func(c *Config) { c.Listen = netip.MustParseAddrPort("10.0.0.1:0") }, false},
		{"empty domain", func(c *Config) { c.Domain = "" }, false},
		{"bad domain", func(c *Config) { c.Domain = "clou dlet" }, false},
		{"negative ttl", func(c *Config) { c.TTL = -time.Second }, false},
		{"huge ttl", func(c *Config) { c.TTL = 48 * time.Hour }, false},
		{"upstream without port", func(c *Config) { c.Upstreams = []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:0")} }, false},
		{"upstream is the server", func(c *Config) { c.Upstreams = []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:5353")} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Listen: netip.MustParseAddrPort("10.0.0.1:53"), Domain: "cloudlet",
				Upstreams: []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:53")}, TTL: time.Minute}
			tc.modify(&c)
			_, err := New(c, func(string) ([]netip.Addr, bool) { return nil, false }, nil)
			if tc.valid && err != nil {
				t.Errorf("New: %v, want nil", err)
			}
			if !tc.valid && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New: %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestInDomain(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"web.net1.cloudlet.", true},
		{"cloudlet.", true},
		{"notcloudlet.", false},
		{"cloudlet.org.", false},
		{"a\\046cloudlet.", false}, // one label holding a dot, as readName writes it
	} {
		if got := inDomain(tc.name, "cloudlet."); got != tc.want {
			t.Errorf("inDomain(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
