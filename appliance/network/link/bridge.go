package link

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Bridge is one network's bridge as the catalog describes it.
type Bridge struct {
	Name    string       // BridgeName of the network
	Gateway netip.Prefix // the host's address on the network and the subnet's length, e.g. 10.88.0.1/24
	MTU     int          // 0 means 1500
}

// EnsureBridge makes the bridge exist as b says: created when missing, STP off, forward delay 0,
// its own fixed MAC, b.MTU, the gateway as its only address, and up. Applying it twice changes
// nothing. An existing link of that name that is not a bridge is an error (ErrWrongKind).
func EnsureBridge(b Bridge) error {
	mtu, err := b.validate()
	if err != nil {
		return err
	}
	l, err := lookup(b.Name)
	if err != nil {
		return err
	}
	if l == nil {
		if l, err = createBridge(b.Name, mtu); err != nil {
			return err
		}
	}
	if l.Type() != "bridge" {
		return fmt.Errorf("ensure bridge %s: %w: it is a %s", b.Name, ErrWrongKind, l.Type())
	}
	if err := disableSTP(l); err != nil {
		return err
	}
	if err := setUp(l, mtu, bridgeMAC(b.Name)); err != nil {
		return err
	}
	return setOnlyAddr(l, b.Gateway)
}

func (b Bridge) validate() (int, error) {
	if err := validName(b.Name); err != nil {
		return 0, err
	}
	if !b.Gateway.IsValid() || !b.Gateway.Addr().Is4() || b.Gateway.Bits() > 30 {
		return 0, fmt.Errorf("%w: bridge %s: gateway %v: want an IPv4 address with a prefix length of at most 30", ErrInvalid, b.Name, b.Gateway)
	}
	return validMTU(b.MTU)
}

func createBridge(name string, mtu int) (netlink.Link, error) {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: mtu, HardwareAddr: bridgeMAC(name)}}
	if err := netlink.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("netlink.LinkAdd(%s): %w", name, err)
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("netlink.LinkByName(%s): %w", name, err)
	}
	return l, nil
}

// disableSTP turns STP off, then sets the forward delay to 0 so a new port forwards at once (the
// kernel refuses a delay below 2 s while STP is on, hence the order). netlink.Bridge has no field
// for either, so the attributes go in an RTM_NEWLINK of their own; sysfs would show the namespace
// that mounted /sys, not necessarily the caller's.
func disableSTP(l netlink.Link) error {
	if err := setBridgeAttr(l, nl.IFLA_BR_STP_STATE, 0); err != nil {
		return fmt.Errorf("netlink RTM_NEWLINK(%s, stp_state=0): %w", l.Attrs().Name, err)
	}
	if err := setBridgeAttr(l, nl.IFLA_BR_FORWARD_DELAY, 0); err != nil {
		return fmt.Errorf("netlink RTM_NEWLINK(%s, forward_delay=0): %w", l.Attrs().Name, err)
	}
	return nil
}

func setBridgeAttr(l netlink.Link, attr int, v uint32) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(l.Attrs().Index)
	req.AddData(msg)
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	info.AddRtAttr(nl.IFLA_INFO_DATA, nil).AddRtAttr(attr, nl.Uint32Attr(v))
	req.AddData(info)
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// setOnlyAddr makes gw the link's only address, leaving the kernel's IPv6 link-local one alone.
func setOnlyAddr(l netlink.Link, gw netip.Prefix) error {
	name := l.Attrs().Name
	want := &net.IPNet{IP: gw.Addr().AsSlice(), Mask: net.CIDRMask(gw.Bits(), 32)}
	addrs, err := Dump("netlink.AddrList("+name+")", func() ([]netlink.Addr, error) {
		return netlink.AddrList(l, netlink.FAMILY_ALL)
	})
	if err != nil {
		return err
	}
	found := false
	for _, a := range addrs {
		switch {
		case a.IPNet.String() == want.String():
			found = true
		case a.IP.IsLinkLocalUnicast() && a.IP.To4() == nil:
		default:
			if err := netlink.AddrDel(l, &a); err != nil {
				return fmt.Errorf("netlink.AddrDel(%s, %s): %w", name, a.IPNet, err)
			}
		}
	}
	if found {
		return nil
	}
	if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: want}); err != nil {
		return fmt.Errorf("netlink.AddrAdd(%s, %s): %w", name, want, err)
	}
	return nil
}

// RemoveBridge deletes the bridge; its ports stay, detached. No bridge of that name is not an
// error; a link of that name that is not a bridge is (ErrWrongKind).
func RemoveBridge(name string) error { return remove(name, "bridge") }

// CheckBridge reports whether name is an existing bridge (one cloudlet did not make, for a bridged
// network): ErrNotFound when there is no such link, ErrWrongKind when it is not a bridge.
func CheckBridge(name string) error {
	l, err := existing(name)
	if err != nil {
		return err
	}
	if l.Type() != "bridge" {
		return fmt.Errorf("%w: %s is a %s, not a bridge", ErrWrongKind, name, l.Type())
	}
	return nil
}
