package network

import (
	"net/netip"
	"strings"

	"cloudlet/appliance/fault"
)

// A network's subnet becomes an address on a host bridge, a route in the host's table and a DNS
// server's listening address, so some ranges must never be one: the host's loopback (127.0.0.0/24
// on a bridge breaks 127.0.0.2-.254 and with them systemd-resolved's 127.0.0.53), "this network",
// link-local (the metadata address), multicast (a DNS server bound to 224.0.0.1:53 takes port 53
// from every other network's DNS server: that was the probe's 500), reserved and broadcast.
// They are refused for everyone, admins included, whatever the network's kind.
var reservedRanges = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network"`},
	{netip.MustParsePrefix("127.0.0.0/8"), "the host's loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved and broadcast"},
}

// PrivateRanges are the unicast ranges any member may put a network on (RFC 1918 and the shared
// address space of RFC 6598); admins allow more with Options.MemberCIDRs.
var PrivateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

// CheckNotReserved refuses a prefix that overlaps a range no network may use (fault.Invalid).
func CheckNotReserved(p netip.Prefix) error {
	for _, r := range reservedRanges {
		if r.prefix.Overlaps(p) {
			return errInvalid("subnet %s overlaps %s (%s): no network may use it", p, r.prefix, r.what)
		}
	}
	return nil
}

// memberMayUse refuses a subnet outside the ranges members may use (fault.Forbidden, naming them):
// the private ranges and the ones the admin allowed. An admin (AnyCIDR) may use any other.
func (s *Service) memberMayUse(p netip.Prefix) error {
	allowed := append(append([]netip.Prefix{}, PrivateRanges...), s.memberCIDRs...)
	for _, a := range allowed {
		if a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
			return nil
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = a.String()
	}
	return fault.New(fault.Forbidden, "subnet %s is outside the ranges members may use (%s): an admin may create it, or allow its range with network_cidrs_allowed",
		p, strings.Join(names, ", "))
}

// CheckMemberCIDRs checks the admin's extra member ranges (Options.MemberCIDRs, config
// network_cidrs_allowed): IPv4 prefixes without host bits, none of them reserved.
func CheckMemberCIDRs(ps []netip.Prefix) error {
	for _, p := range ps {
		if !p.IsValid() || !p.Addr().Is4() || p != p.Masked() {
			return errInvalid("allowed network range %s: want an IPv4 prefix like 203.0.113.0/24", p)
		}
		if err := CheckNotReserved(p); err != nil {
			return err
		}
	}
	return nil
}
