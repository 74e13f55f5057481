package images

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
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
	ports        []int                        // the only ports connected to; empty: 80 and 443
	allowed      []netip.Prefix               // when set, the only ranges connected to
	denied       []netip.Prefix               // never connected to
	hostAddrs    func() ([]netip.Addr, error) // the host's own addresses; nil: every interface's, read at each dial
	allow        netip.AddrPort               // tests only: the one address (a local test server) that is let through
}

// control is a net.Dialer Control function: it runs before each connect with the resolved address.
func (g addrGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return faultf(ErrBlockedAddress, "refusing to connect to %s: not an IP address and port", quoteShort(address))
	}
	return g.check(ap)
}

// check refuses loopback, link-local, unspecified, multicast and
// broadcast addresses and every address of the host itself always (also in their IPv4-mapped and
// NAT64 forms); the denied ranges; and, when allowed ranges are set, everything outside them, else
// private addresses unless allowed; then ports outside the allowed ones. The message is for the log: callers show one generic error.
func (g addrGuard) check(ap netip.AddrPort) error {
	if g.allow.IsValid() && ap == g.allow {
		return nil
	}
	why := blockedReason(ap.Addr())
	if why == "" {
		why = g.hostReason(ap.Addr())
	}
	if why == "" {
		why = g.rangeReason(ap.Addr())
	}
	if why == "" {
		why = g.portReason(ap.Port())
	}
	if why == "" {
		return nil
	}
	return faultf(ErrBlockedAddress, "refusing to connect to %s: %s", ap, why)
}

func (g addrGuard) portReason(port uint16) string {
	ports := g.ports
	if len(ports) == 0 {
		ports = []int{80, 443}
	}
	if slices.Contains(ports, int(port)) {
		return ""
	}
	return fmt.Sprintf("port %d is not one of the allowed ports %v (image_import_allowed_ports)", port, ports)
}

// hostReason refuses the host's own addresses, read now: an import must never fetch from the
// daemon's host, whatever interface or public address it arrives by.
func (g addrGuard) hostReason(a netip.Addr) string {
	list := g.hostAddrs
	if list == nil {
		list = interfaceAddrs
	}
	own, err := list()
	if err != nil {
		return fmt.Sprintf("the host's addresses cannot be read (%v)", err)
	}
	a = embeddedV4(a)
	for _, h := range own {
		if embeddedV4(h) == a {
			return "it is an address of this host"
		}
	}
	return ""
}

// rangeReason applies the denied and allowed ranges, and the private rule when no allowed range is set.
func (g addrGuard) rangeReason(a netip.Addr) string {
	a = embeddedV4(a)
	for _, p := range g.denied {
		if p.Contains(a) {
			return fmt.Sprintf("it is in the denied range %s (image_import_denied_cidrs)", p)
		}
	}
	if len(g.allowed) == 0 {
		if g.allowPrivate {
			return ""
		}
		return privateReason(a)
	}
	for _, p := range g.allowed {
		if p.Contains(a) {
			return ""
		}
	}
	return "it is outside the allowed ranges (image_import_allowed_cidrs)"
}

// interfaceAddrs lists the addresses of every interface of the host (of the daemon's network
// namespace), up or down.
func interfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
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
