// Package netguard decides which addresses cloudlet connects to on a user's behalf (image URL
// imports, webhook deliveries): never loopback, link-local (cloud metadata), multicast,
// unspecified or the host's own addresses; private ranges only where allowed. It checks the
// address actually connected, after DNS, on every connection (redirects included), so neither a
// redirect nor a name that resolves differently the second time (DNS rebinding) reaches what it
// refuses.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
)

// ErrBlocked is wrapped by every refusal of Guard.
var ErrBlocked = errors.New("address refused")

// Address ranges refused beyond what netip.Addr's predicates name.
var (
	nat64Prefix  = netip.MustParsePrefix("64:ff9b::/96")  // an IPv4 address behind a NAT64 gateway
	sharedPrefix = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT (RFC 6598)
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")     // Linux connects 0.x.x.x to the host itself
	broadcast    = netip.MustParseAddr("255.255.255.255")
)

// Guard decides which addresses may be connected to. The zero Guard refuses what is never
// connected to and private addresses, and allows every port.
type Guard struct {
	AllowPrivate bool
	Ports        []int          // the only ports connected to; empty: any
	Allowed      []netip.Prefix // when set, the only ranges connected to
	Denied       []netip.Prefix // never connected to
	// PrivateAllowed are private ranges connected to although AllowPrivate is off (public
	// addresses stay allowed, unlike Allowed).
	PrivateAllowed []netip.Prefix
	// HostAddrs lists the host's own addresses; nil: every interface's, read at each check.
	HostAddrs func() ([]netip.Addr, error)
	// Setting prefixes the config keys named in refusals, e.g. "image_import" names
	// image_import_allowed_cidrs.
	Setting string
	// Allow is, for tests only, the one address (a local test server) that is let through.
	Allow netip.AddrPort
}

// Control is a net.Dialer Control function: it runs before each connect with the resolved address.
func (g Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refusing to connect to %q: not an IP address and port: %w", address, ErrBlocked)
	}
	return g.Check(ap)
}

// Check refuses loopback, link-local, unspecified, multicast and broadcast addresses and every
// address of the host itself always (also in their IPv4-mapped and NAT64 forms); the denied ranges;
// and, when allowed ranges are set, everything outside them, else private addresses unless allowed;
// then ports outside the allowed ones. The message is for logs.
func (g Guard) Check(ap netip.AddrPort) error {
	if g.Allow.IsValid() && ap == g.Allow {
		return nil
	}
	why := BlockedReason(ap.Addr())
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
	return fmt.Errorf("refusing to connect to %s: %s: %w", ap, why, ErrBlocked)
}

func (g Guard) key(name string) string {
	if g.Setting == "" {
		return name
	}
	return g.Setting + "_" + name
}

func (g Guard) portReason(port uint16) string {
	if len(g.Ports) == 0 || slices.Contains(g.Ports, int(port)) {
		return ""
	}
	return fmt.Sprintf("port %d is not one of the allowed ports %v (%s)", port, g.Ports, g.key("allowed_ports"))
}

// hostReason refuses the host's own addresses, read now: nothing may reach the daemon's host,
// whatever interface or public address it arrives by.
func (g Guard) hostReason(a netip.Addr) string {
	list := g.HostAddrs
	if list == nil {
		list = InterfaceAddrs
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
func (g Guard) rangeReason(a netip.Addr) string {
	a = embeddedV4(a)
	for _, p := range g.Denied {
		if p.Contains(a) {
			return fmt.Sprintf("it is in the denied range %s (%s)", p, g.key("denied_cidrs"))
		}
	}
	if len(g.Allowed) == 0 {
		if g.AllowPrivate || containsAddr(g.PrivateAllowed, a) {
			return ""
		}
		return privateReason(a, g.key("allowed_cidrs"))
	}
	if containsAddr(g.Allowed, a) {
		return ""
	}
	return fmt.Sprintf("it is outside the allowed ranges (%s)", g.key("allowed_cidrs"))
}

func containsAddr(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// InterfaceAddrs lists the addresses of every interface of the host (of the daemon's network
// namespace), up or down.
func InterfaceAddrs() ([]netip.Addr, error) {
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

// BlockedReason says why a is never connected to, whatever is allowed, or "" when it may be.
func BlockedReason(a netip.Addr) string {
	a = embeddedV4(a)
	switch {
	case a.IsLoopback():
		return "loopback addresses are never connected to"
	case a.IsMulticast() || a == broadcast:
		return "multicast and broadcast addresses are never connected to"
	case a.IsLinkLocalUnicast():
		return "link-local addresses (cloud metadata services live there) are never connected to"
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return "unspecified addresses are never connected to"
	}
	return ""
}

// privateReason says why a is refused unless private addresses are allowed, or "".
func privateReason(a netip.Addr, key string) string {
	a = embeddedV4(a)
	if a.IsPrivate() || sharedPrefix.Contains(a) {
		return fmt.Sprintf("private addresses are refused unless allowed (%s)", key)
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
