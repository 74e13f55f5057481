package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Lookup returns the fixed addresses of an authoritative name from the catalog. It is called with
// the name in lower case with its trailing dot ("web-1.net1.cloudlet."); ok=false: no such name.
type Lookup func(name string) ([]netip.Addr, bool)

// Config is what one network's DNS server answers with.
type Config struct {
	Listen    netip.AddrPort   // the network's gateway address and port (53), for UDP and TCP
	Domain    string           // names under it are answered from Lookup only; trailing dot optional
	Upstreams []netip.AddrPort // the host's resolvers; empty: REFUSED for names outside Domain
	TTL       time.Duration    // of the answers for names under Domain, in whole seconds
}

const maxTTL = 24 * time.Hour

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// validate checks c and returns a copy with the domain in canonical form ("cloudlet.") that shares
// no slice with the caller.
func (c Config) validate() (Config, error) {
	switch {
	case !c.Listen.IsValid() || !c.Listen.Addr().Is4() || c.Listen.Port() == 0:
		return c, invalid("listen %s: want an IPv4 address and a port", c.Listen)
	case !validDomain(c.Domain):
		return c, invalid("domain %q", c.Domain)
	case c.TTL < 0 || c.TTL > maxTTL:
		return c, invalid("ttl %s: want 0..%s", c.TTL, maxTTL)
	}
	for _, u := range c.Upstreams {
		if !u.IsValid() || u.Port() == 0 || u.Addr().Zone() != "" {
			return c, invalid("upstream %s: want an address and a port", u)
		}
		if u.Addr().Unmap() == c.Listen.Addr() {
			return c, invalid("upstream %s is this server: queries would loop", u)
		}
	}
	c.Domain = strings.ToLower(strings.TrimSuffix(c.Domain, ".")) + "."
	c.Upstreams = slices.Clone(c.Upstreams)
	return c, nil
}

// validDomain accepts dot-separated labels of letters, digits and hyphens.
func validDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 200 { // room left for "<instance>.<network>."
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !validLabel(l) {
			return false
		}
	}
	return true
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// inDomain reports whether name (canonical, from parseName) is domain or under it.
func inDomain(name, domain string) bool {
	return name == domain || strings.HasSuffix(name, "."+domain)
}
