package dhcp

import (
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func ip(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }

// leaseOptions are the options of an OFFER or ACK that gives r its address under c.
func leaseOptions(c *Config, r Reservation) []dhcpv4.Option {
	opts := []dhcpv4.Option{
		dhcpv4.OptServerIdentifier(ip(c.ServerIP)),
		dhcpv4.OptSubnetMask(net.CIDRMask(c.Subnet.Bits(), 32)),
		dhcpv4.OptBroadcastAddress(ip(broadcastOf(c.Subnet))),
		dhcpv4.OptIPAddressLeaseTime(c.LeaseTime),
		dhcpv4.OptRenewTimeValue(c.LeaseTime / 2),
		dhcpv4.OptRebindingTimeValue(c.LeaseTime * 7 / 8),
	}
	if c.Router.IsValid() {
		opts = append(opts, dhcpv4.OptRouter(ip(c.Router)))
	}
	if len(c.DNS) > 0 {
		dns := make([]net.IP, len(c.DNS))
		for i, d := range c.DNS {
			dns[i] = ip(d)
		}
		opts = append(opts, dhcpv4.OptDNS(dns...))
	}
	if c.Domain != "" {
		opts = append(opts, dhcpv4.OptDomainName(c.Domain))
	}
	if r.Hostname != "" {
		opts = append(opts, dhcpv4.OptHostName(r.Hostname))
	}
	if c.MTU != 0 {
		opts = append(opts, dhcpv4.OptGeneric(dhcpv4.OptionInterfaceMTU, binary.BigEndian.AppendUint16(nil, uint16(c.MTU))))
	}
	if routes := classlessRoutes(c); len(routes) > 0 {
		opts = append(opts, dhcpv4.OptClasslessStaticRoute(routes...))
	}
	return opts
}

// classlessRoutes is option 121's content. A client that receives option 121 ignores option 3
// (RFC 3442), so the default route through Router is added unless Routes has one already.
func classlessRoutes(c *Config) []*dhcpv4.Route {
	if len(c.Routes) == 0 {
		return nil
	}
	var out []*dhcpv4.Route
	hasDefault := false
	for _, r := range c.Routes {
		hasDefault = hasDefault || r.Dest.Bits() == 0
		out = append(out, &dhcpv4.Route{
			Dest:   &net.IPNet{IP: ip(r.Dest.Addr()), Mask: net.CIDRMask(r.Dest.Bits(), 32)},
			Router: ip(r.Via),
		})
	}
	if !hasDefault && c.Router.IsValid() {
		out = append(out, &dhcpv4.Route{
			Dest:   &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			Router: ip(c.Router),
		})
	}
	return out
}

// nakOptions are the options of a NAK: only the server identifier and a reason (RFC 2131 table 3).
func nakOptions(c *Config, reason string) []dhcpv4.Option {
	return []dhcpv4.Option{dhcpv4.OptServerIdentifier(ip(c.ServerIP)), dhcpv4.OptMessage(reason)}
}
