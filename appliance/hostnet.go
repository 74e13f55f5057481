package appliance

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"cloudlet/appliance/network/link"
)

// hostRoutes lists the IPv4 prefixes this host already routes or owns, so no network is made over
// them: its routes (except the default route and cloudlet's own bridges) and the local table's
// addresses, which the main table does not show: 127.0.0.0/8 on lo, a /32 address, a LAN address
// whose subnet route lives elsewhere. A network over one would take traffic meant for the host.
func hostRoutes() ([]netip.Prefix, error) {
	routes, err := link.Dump("netlink.RouteList", func() ([]netlink.Route, error) {
		return netlink.RouteList(nil, netlink.FAMILY_V4)
	})
	if err != nil {
		return nil, err
	}
	local, err := link.Dump("netlink.RouteListFiltered(table local)", func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4,
			&netlink.Route{Table: unix.RT_TABLE_LOCAL, Type: unix.RTN_LOCAL}, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_TYPE)
	})
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, r := range append(routes, local...) {
		if r.Dst == nil || ownLink(r.LinkIndex) {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if a, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok && ones > 0 {
			out = append(out, netip.PrefixFrom(a, ones).Masked())
		}
	}
	return out, nil
}

// ownLink reports whether a link is one of cloudlet's bridges or taps.
func ownLink(index int) bool {
	l, err := netlink.LinkByIndex(index)
	if err != nil {
		return false
	}
	name := l.Attrs().Name
	return strings.HasPrefix(name, link.BridgePrefix) || strings.HasPrefix(name, link.TapPrefix)
}

// resolvers reads the host's name servers from /etc/resolv.conf, for names outside cloudlet's domain.
func resolvers() []netip.AddrPort {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out []netip.AddrPort
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil && a.Is4() {
				out = append(out, netip.AddrPortFrom(a, 53))
			}
		}
	}
	return out
}
