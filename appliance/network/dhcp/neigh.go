package dhcp

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// setNeighbour tells the kernel that a is at mac on the server's interface, so a unicast reply
// to a client that has no address yet (and so answers no ARP) can be sent, as dnsmasq does. The
// entry is an ordinary reachable one that ages out, not a permanent one.
func (s *Server) setNeighbour(a netip.Addr, mac net.HardwareAddr) error {
	ifname := s.cfg.Load().Interface
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("netlink.LinkByName(%s): %w", ifname, err)
	}
	n := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: netlink.FAMILY_V4,
		State: netlink.NUD_REACHABLE, IP: ip(a), HardwareAddr: mac}
	if err := netlink.NeighSet(n); err != nil {
		return fmt.Errorf("netlink.NeighSet(%s %s dev %s): %w", a, mac, ifname, err)
	}
	return nil
}
