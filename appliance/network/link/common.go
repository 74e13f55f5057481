package link

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// lookup returns the link called name, or nil when there is none.
func lookup(name string) (netlink.Link, error) {
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netlink.LinkByName(%s): %w", name, err)
	}
	return l, nil
}

func validName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("%w: name %q: want 1 to %d bytes", ErrInvalid, name, maxNameLen)
	}
	return nil
}

func validMTU(mtu int) (int, error) {
	switch {
	case mtu == 0:
		return 1500, nil
	case mtu < 68 || mtu > 65535:
		return 0, fmt.Errorf("%w: mtu %d: want 68 to 65535", ErrInvalid, mtu)
	}
	return mtu, nil
}

// setUp sets MTU and MAC when they differ and brings the link up.
func setUp(l netlink.Link, mtu int, mac net.HardwareAddr) error {
	a := l.Attrs()
	if a.MTU != mtu {
		if err := netlink.LinkSetMTU(l, mtu); err != nil {
			return fmt.Errorf("netlink.LinkSetMTU(%s, %d): %w", a.Name, mtu, err)
		}
	}
	if a.HardwareAddr.String() != mac.String() {
		if err := netlink.LinkSetHardwareAddr(l, mac); err != nil {
			return fmt.Errorf("netlink.LinkSetHardwareAddr(%s, %s): %w", a.Name, mac, err)
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("netlink.LinkSetUp(%s): %w", a.Name, err)
	}
	return nil
}

// remove deletes the link called name if it exists and has the given netlink kind.
func remove(name, kind string) error {
	l, err := lookup(name)
	if err != nil || l == nil {
		return err
	}
	if l.Type() != kind {
		return fmt.Errorf("remove %s: %w: it is a %s, not a %s", name, ErrWrongKind, l.Type(), kind)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("netlink.LinkDel(%s): %w", name, err)
	}
	return nil
}
