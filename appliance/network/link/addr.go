package link

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
)

// Host addresses on an uplink: a floating IP is held as a /32 on its external network's uplink, so
// the host answers ARP for it and the firewall's DNAT takes the traffic from there. These calls
// work on any existing interface (the uplink is the host's, not cloudlet's); they never create or
// delete a link.

// Addrs returns the IPv4 addresses of the interface called name, with their prefix lengths.
// No such interface is ErrNotFound.
func Addrs(name string) ([]netip.Prefix, error) {
	l, err := existing(name)
	if err != nil {
		return nil, err
	}
	addrs, err := Dump("netlink.AddrList("+name+")", func() ([]netlink.Addr, error) {
		return netlink.AddrList(l, netlink.FAMILY_V4)
	})
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		ones, _ := a.Mask.Size()
		if ok {
			out = append(out, netip.PrefixFrom(ip, ones))
		}
	}
	return out, nil
}

// AddHostAddr adds ip as a /32 to the interface called name; an address already there is left alone.
func AddHostAddr(name string, ip netip.Addr) error {
	l, err := existing(name)
	if err != nil {
		return err
	}
	a := hostAddr(ip)
	if err := netlink.AddrAdd(l, a); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("netlink.AddrAdd(%s, %s): %w", name, a.IPNet, err)
	}
	return nil
}

// RemoveHostAddr removes ip/32 from the interface called name; no such address (or interface) is
// not an error.
func RemoveHostAddr(name string, ip netip.Addr) error {
	l, err := lookup(name)
	if err != nil || l == nil {
		return err
	}
	a := hostAddr(ip)
	if err := netlink.AddrDel(l, a); err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("netlink.AddrDel(%s, %s): %w", name, a.IPNet, err)
	}
	return nil
}

func hostAddr(ip netip.Addr) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(32, 32)}}
}

// existing returns the link called name, or ErrNotFound.
func existing(name string) (netlink.Link, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	l, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("netlink.LinkByName(%s): %w: no such interface", name, ErrNotFound)
	}
	return l, nil
}
