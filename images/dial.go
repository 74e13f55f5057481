package images

import (
	"context"
	"net"
	"net/netip"
	"syscall"
)

// Address ranges refused beyond what netip.Addr's predicates name.
var (
	nat64Prefix  = netip.MustParsePrefix("64:ff9b::/96")  // an IPv4 address behind a NAT64 gateway
	sharedPrefix = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT (RFC 6598)
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")     // Linux connects 0.x.x.x to the host itself
	broadcast    = netip.MustParseAddr("255.255.255.255")
)

// addrGuard decides which addresses a URL import may connect to. It checks the address actually
// connected (after DNS, on every connection, redirects included), so neither a redirect nor a
// name that resolves differently the second time (DNS rebinding) can reach what it refuses.
type addrGuard struct {
	allowPrivate bool
	allow        netip.AddrPort // tests only: the one address (a local test server) that is let through
}

// control is a net.Dialer Control function: it runs before each connect with the resolved address.
func (g addrGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return faultf(ErrBlockedAddress, "refusing to connect to %s: not an IP address and port", quoteShort(address))
	}
	return g.check(ap)
}

// check refuses loopback, link-local, unspecified, multicast and broadcast addresses always (also
// in their IPv4-mapped and NAT64 forms), and private ones unless allowed.
func (g addrGuard) check(ap netip.AddrPort) error {
	if g.allow.IsValid() && ap == g.allow {
		return nil
	}
	why := blockedReason(ap.Addr())
	if why == "" && !g.allowPrivate {
		why = privateReason(ap.Addr())
	}
	if why == "" {
		return nil
	}
	return faultf(ErrBlockedAddress, "refusing to connect to %s: %s", ap, why)
}

// blockedReason says why a is never connected to, or "" when it may be.
func blockedReason(a netip.Addr) string {
	a = embeddedV4(a)
	switch {
	case a.IsLoopback():
		return "loopback addresses are never fetched from"
	case a.IsMulticast() || a == broadcast:
		return "multicast and broadcast addresses are never fetched from"
	case a.IsLinkLocalUnicast():
		return "link-local addresses (cloud metadata services live there) are never fetched from"
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return "unspecified addresses are never fetched from"
	}
	return ""
}

// privateReason says why a is refused unless Options.AllowPrivateURLs, or "".
func privateReason(a netip.Addr) string {
	a = embeddedV4(a)
	if a.IsPrivate() || sharedPrefix.Contains(a) {
		return "private addresses are refused unless the daemon allows private URLs"
	}
	return ""
}

// embeddedV4 returns the IPv4 address inside an IPv4-mapped or NAT64 address, else a.
func embeddedV4(a netip.Addr) netip.Addr {
	a = a.WithZone("").Unmap()
	if a.Is6() && nat64Prefix.Contains(a) {
		b := a.As16()
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return a
}

// dialer returns the DialContext of URL imports: guarded, and with the test hosts table applied.
func (f fetchConfig) dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: f.dialTimeout, Control: f.guard.control}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && f.hosts[host] != "" {
			addr = net.JoinHostPort(f.hosts[host], port)
		}
		return d.DialContext(ctx, network, addr)
	}
}
