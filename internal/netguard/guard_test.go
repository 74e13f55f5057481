package netguard

import (
	"net/netip"
	"strings"
	"testing"
)

// hostAddrs returns the host's addresses that no other rule refuses: what only the
// host-address rule stops.
func hostAddrs(t *testing.T) []netip.Addr {
	t.Helper()
	all, err := InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Addr
	for _, a := range all {
		if BlockedReason(a) == "" {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		t.Fatalf("the host has no address beside loopback and link-local (%v): this test needs one", all)
	}
	return out
}

// Loopback and link-local stay refused when private URLs are allowed; IPv4-mapped and NAT64
// spellings do not get around it.
func TestGuardNeverConnectsToLoopbackOrLinkLocal(t *testing.T) {
	tests := []struct {
		addr    string
		private bool // AllowPrivateURLs
		msg     string
	}{
		{"93.184.216.34:443", false, ""},
		{"[2606:2800:220:1:248:1893:25c8:1946]:443", false, ""},
		{"10.0.0.5:80", true, ""},
		{"192.168.1.10:80", true, ""},
		{"[fd00::1]:80", true, ""},
		{"10.0.0.5:80", false, "private"},
		{"172.16.0.1:80", false, "private"},
		{"100.64.0.1:80", false, "private"},
		{"[fd00::1]:80", false, "private"},
		{"127.0.0.1:80", true, "loopback"},
		{"127.255.255.254:80", true, "loopback"},
		{"[::1]:80", true, "loopback"},
		{"[::ffff:127.0.0.1]:80", true, "loopback"},
		{"[64:ff9b::7f00:1]:80", true, "loopback"},
		{"[::ffff:169.254.169.254]:80", true, "link-local"},
		{"169.254.169.254:80", true, "link-local"},
		{"[fe80::1]:80", true, "link-local"},
		{"0.0.0.0:80", true, "unspecified"},
		{"0.1.2.3:80", true, "unspecified"},
		{"[::]:80", true, "unspecified"},
		{"224.0.0.251:80", true, "multicast"},
		{"[ff02::1]:80", true, "multicast"},
		{"[ff05::1]:80", true, "multicast"},
		{"255.255.255.255:80", true, "broadcast"},
	}
	for _, tt := range tests {
		err := Guard{AllowPrivate: tt.private}.Check(netip.MustParseAddrPort(tt.addr))
		switch {
		case tt.msg == "" && err != nil:
			t.Errorf("check(%s, private=%v) = %v, want allowed", tt.addr, tt.private, err)
		case tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)):
			t.Errorf("check(%s, private=%v) = %v, want refused as %s", tt.addr, tt.private, err, tt.msg)
		}
	}
	if err := (Guard{}).Control("tcp", "localhost:80", nil); err == nil {
		t.Error("control accepted an address that is not an IP")
	}
}

// (Image imports' finding 7.) Only the given ports; allow and deny lists of ranges;
// the host's addresses and loopback stay refused whatever the allow list says.
func TestGuardPortsAndRanges(t *testing.T) {
	host := hostAddrs(t)[0]
	lan := netip.MustParsePrefix("192.168.7.0/24")
	tests := []struct {
		guard Guard
		addr  string
		why   string // "" when allowed
	}{
		{Guard{Ports: []int{80, 443}}, "93.184.216.34:80", ""},
		{Guard{}, "93.184.216.34:443", ""},
		{Guard{Ports: []int{80, 443}}, "93.184.216.34:22", "port 22 is not one of the allowed ports [80 443]"},
		{Guard{Ports: []int{80, 443}}, "93.184.216.34:8080", "port 8080"},
		{Guard{Ports: []int{8080}}, "93.184.216.34:8080", ""},
		{Guard{Ports: []int{8080}}, "93.184.216.34:80", "port 80"},
		{Guard{Denied: []netip.Prefix{netip.MustParsePrefix("93.184.0.0/16")}}, "93.184.216.34:80", "denied range 93.184.0.0/16"},
		{Guard{Denied: []netip.Prefix{netip.MustParsePrefix("93.184.0.0/16")}}, "[::ffff:93.184.216.34]:80", "denied range"},
		{Guard{Allowed: []netip.Prefix{lan}}, "192.168.7.9:80", ""},
		{Guard{Allowed: []netip.Prefix{lan}}, "192.168.8.9:80", "outside the allowed ranges"},
		{Guard{Allowed: []netip.Prefix{lan}}, "93.184.216.34:80", "outside the allowed ranges"},
		{Guard{Allowed: []netip.Prefix{lan}, Denied: []netip.Prefix{netip.MustParsePrefix("192.168.7.9/32")}}, "192.168.7.9:80", "denied range"},
		{Guard{Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "127.0.0.1:80", "loopback"},
		{Guard{Allowed: []netip.Prefix{netip.PrefixFrom(host, host.BitLen())}}, netip.AddrPortFrom(host, 80).String(), "address of this host"},
		{Guard{AllowPrivate: true}, netip.AddrPortFrom(host, 80).String(), "address of this host"},
	}
	for _, tt := range tests {
		err := tt.guard.Check(netip.MustParseAddrPort(tt.addr))
		switch {
		case tt.why == "" && err != nil:
			t.Errorf("check(%s) with %+v = %v, want allowed", tt.addr, tt.guard, err)
		case tt.why != "" && (err == nil || !strings.Contains(err.Error(), tt.why)):
			t.Errorf("check(%s) with %+v = %v, want refused: %s", tt.addr, tt.guard, err, tt.why)
		}
	}
}
