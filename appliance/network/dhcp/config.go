package dhcp

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Reservation is one guest's fixed address, as the catalog knows it.
type Reservation struct {
	MAC      net.HardwareAddr
	IP       netip.Addr
	Hostname string
}

// Route is one classless static route (option 121).
type Route struct {
	Dest netip.Prefix
	Via  netip.Addr
}

// Config is what the server answers with on one bridge.
type Config struct {
	Interface string       // the bridge the server answers on, and only there
	ServerIP  netip.Addr   // the gateway address on that bridge (server identifier)
	Subnet    netip.Prefix // the network's IPv4 subnet
	Router    netip.Addr   // option 3; invalid = none
	DNS       []netip.Addr // option 6
	Domain    string       // option 15
	MTU       int          // option 26 (0 = none)
	LeaseTime time.Duration
	Routes    []Route // option 121 (classless static routes)
}

// Lookup returns the static reservation for a MAC, from the catalog.
type Lookup func(mac net.HardwareAddr) (Reservation, bool)

const maxLease = time.Duration(math.MaxUint32-1) * time.Second // 0xffffffff means infinite

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// validate checks c and returns a copy that shares no slices with the caller.
func (c Config) validate() (Config, error) {
	switch {
	case c.Interface == "":
		return c, invalid("no interface")
	case !c.Subnet.IsValid() || !c.Subnet.Addr().Is4() || c.Subnet.Bits() > 30:
		return c, invalid("subnet %s: want an IPv4 prefix of /30 or wider", c.Subnet)
	case c.Subnet != c.Subnet.Masked():
		return c, invalid("subnet %s has host bits set", c.Subnet)
	case !hostIn(c.Subnet, c.ServerIP):
		return c, invalid("server ip %s is not a host address of %s", c.ServerIP, c.Subnet)
	case c.Router.IsValid() && !hostIn(c.Subnet, c.Router):
		return c, invalid("router %s is not a host address of %s", c.Router, c.Subnet)
	case c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535):
		return c, invalid("mtu %d: want 68..65535 or 0", c.MTU)
	case c.LeaseTime < time.Minute || c.LeaseTime > maxLease:
		return c, invalid("lease time %s: want 1m..%s", c.LeaseTime, maxLease)
	case !validDomain(c.Domain):
		return c, invalid("domain %q", c.Domain)
	}
	for _, d := range c.DNS {
		if !d.Is4() {
			return c, invalid("dns server %s is not an IPv4 address", d)
		}
	}
	for _, r := range c.Routes {
		if !r.Dest.IsValid() || !r.Dest.Addr().Is4() || r.Dest != r.Dest.Masked() || !r.Via.Is4() {
			return c, invalid("route %s via %s", r.Dest, r.Via)
		}
	}
	c.DNS, c.Routes = slices.Clone(c.DNS), slices.Clone(c.Routes)
	return c, nil
}

// hostIn reports whether a is a usable host address of p (not its network or broadcast address).
func hostIn(p netip.Prefix, a netip.Addr) bool {
	return a.Is4() && p.Contains(a) && a != p.Masked().Addr() && a != broadcastOf(p)
}

func broadcastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(b)
}

// validDomain accepts "" or dot-separated labels of letters, digits and hyphens.
func validDomain(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
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

// checkReservation says why a lookup result cannot be handed out to mac under c, or nil.
func checkReservation(c *Config, mac net.HardwareAddr, r Reservation) error {
	switch {
	case !slices.Equal(r.MAC, mac):
		return fmt.Errorf("reservation is for mac %s", r.MAC)
	case !hostIn(c.Subnet, r.IP):
		return fmt.Errorf("ip %s is not a host address of %s", r.IP, c.Subnet)
	case r.IP == c.ServerIP || r.IP == c.Router:
		return fmt.Errorf("ip %s is the gateway's", r.IP)
	case r.Hostname != "" && !validLabel(r.Hostname):
		return fmt.Errorf("hostname %q is not a DNS label", r.Hostname)
	}
	return nil
}
