package network

import (
	"net/netip"
	"slices"
)

// Limits on a subnet: /30 leaves two hosts, /16 is 65534 addresses to track.
const (
	minPrefixBits = 16
	maxPrefixBits = 30
	maxDNS        = 5
	maxHostRoutes = 20
)

// normalize fills the defaults (gateway = first host, one pool = the rest) and checks the subnet.
func (s *Subnet) normalize() error {
	if !s.CIDR.IsValid() || !s.CIDR.Addr().Is4() {
		return errInvalid("subnet cidr %q must be an IPv4 prefix like 10.88.1.0/24", s.CIDR)
	}
	if s.CIDR != s.CIDR.Masked() {
		return errInvalid("subnet cidr %s has host bits set (did you mean %s?)", s.CIDR, s.CIDR.Masked())
	}
	if err := CheckNotReserved(s.CIDR); err != nil {
		return err
	}
	if b := s.CIDR.Bits(); b < minPrefixBits || b > maxPrefixBits {
		return errInvalid("subnet cidr %s: the prefix length must be between /%d and /%d", s.CIDR, minPrefixBits, maxPrefixBits)
	}
	first, last := hostRange(s.CIDR)
	if !s.Gateway.IsValid() {
		s.Gateway = first
	}
	if !inHosts(s.CIDR, s.Gateway) {
		return errInvalid("gateway %s is not a host address of subnet %s", s.Gateway, s.CIDR)
	}
	if len(s.Pools) == 0 {
		s.Pools = defaultPools(first, last, s.Gateway)
	}
	return s.checkPoolsAndOptions()
}

func (s *Subnet) checkPoolsAndOptions() error {
	for i, p := range s.Pools {
		switch {
		case !inHosts(s.CIDR, p.Start) || !inHosts(s.CIDR, p.End):
			return errInvalid("allocation pool %s-%s is not inside subnet %s", p.Start, p.End, s.CIDR)
		case p.End.Less(p.Start):
			return errInvalid("allocation pool %s-%s ends before it starts", p.Start, p.End)
		case p.contains(s.Gateway):
			return errInvalid("allocation pool %s-%s contains the gateway %s", p.Start, p.End, s.Gateway)
		}
		for _, q := range s.Pools[:i] {
			if p.contains(q.Start) || q.contains(p.Start) {
				return errInvalid("allocation pools %s-%s and %s-%s overlap", q.Start, q.End, p.Start, p.End)
			}
		}
	}
	if len(s.DNS) > maxDNS || len(s.HostRoutes) > maxHostRoutes {
		return errInvalid("at most %d DNS servers and %d host routes", maxDNS, maxHostRoutes)
	}
	for _, r := range s.HostRoutes {
		if !r.Destination.IsValid() || !r.NextHop.Is4() || !s.CIDR.Contains(r.NextHop) {
			return errInvalid("host route %s via %s: the next hop must be in subnet %s", r.Destination, r.NextHop, s.CIDR)
		}
	}
	return nil
}

func (p Pool) contains(a netip.Addr) bool { return !a.Less(p.Start) && !p.End.Less(a) }

// hostRange is the first and last host address of an IPv4 prefix (no network, no broadcast).
func hostRange(p netip.Prefix) (netip.Addr, netip.Addr) {
	first := p.Masked().Addr().Next()
	last := broadcast(p).Prev()
	return first, last
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(a)
}

func inHosts(p netip.Prefix, a netip.Addr) bool {
	first, last := hostRange(p)
	return a.Is4() && !a.Less(first) && !last.Less(a)
}

// defaultPools is every host address but the gateway.
func defaultPools(first, last, gw netip.Addr) []Pool {
	var out []Pool
	if first.Less(gw) {
		out = append(out, Pool{first, gw.Prev()})
	}
	if gw.Less(last) {
		out = append(out, Pool{gw.Next(), last})
	}
	return slices.Clip(out)
}
