package link

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// Tap is one port's tap as the catalog describes it.
type Tap struct {
	Name   string           // TapName of the port
	Bridge string           // BridgeName of the port's network; the bridge must exist
	MAC    net.HardwareAddr // the guest's MAC; the tap itself gets another (see tapMAC)
	MTU    int              // 0 means 1500
}

// tapFlags are the flags the tap is created and opened with: no packet-info header, a virtio-net
// header (QEMU's virtio-net offloads need it), one queue.
const tapFlags = netlink.TUNTAP_NO_PI | netlink.TUNTAP_VNET_HDR

// EnsureTap makes the tap exist as t says: a persistent single-queue tap owned by root, with its
// own fe:… MAC, t.MTU, attached to t.Bridge, and up. Applying it twice changes nothing, also
// while QEMU holds the tap. A link of that name that is not such a tap is an error (ErrWrongKind).
func EnsureTap(t Tap) error {
	mtu, err := t.validate()
	if err != nil {
		return err
	}
	br, err := lookup(t.Bridge)
	if err != nil {
		return fmt.Errorf("ensure tap %s: %w", t.Name, err)
	}
	if br == nil || br.Type() != "bridge" {
		return fmt.Errorf("ensure tap %s: netlink.LinkByName(%s): %w: no such bridge", t.Name, t.Bridge, ErrNotFound)
	}
	l, err := lookup(t.Name)
	if err != nil {
		return err
	}
	if l == nil {
		if l, err = createTap(t.Name); err != nil {
			return err
		}
	}
	if err := checkTap(l); err != nil {
		return err
	}
	if err := setUp(l, mtu, tapMAC(t.Name, t.MAC)); err != nil {
		return err
	}
	if l.Attrs().MasterIndex != br.Attrs().Index {
		if err := netlink.LinkSetMaster(l, br); err != nil {
			return fmt.Errorf("netlink.LinkSetMaster(%s, %s): %w", t.Name, t.Bridge, err)
		}
	}
	return nil
}

func (t Tap) validate() (int, error) {
	if err := validName(t.Name); err != nil {
		return 0, err
	}
	if err := validName(t.Bridge); err != nil {
		return 0, fmt.Errorf("tap %s: bridge: %w", t.Name, err)
	}
	if len(t.MAC) != 6 {
		return 0, fmt.Errorf("%w: tap %s: guest MAC %q: want 6 bytes", ErrInvalid, t.Name, t.MAC)
	}
	return validMTU(t.MTU)
}

func createTap(name string) (netlink.Link, error) {
	// Owner and Group 0: only root (or CAP_NET_ADMIN) may attach; QEMU gets an fd instead.
	tap := &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: name}, Mode: netlink.TUNTAP_MODE_TAP, Flags: tapFlags}
	if err := netlink.LinkAdd(tap); err != nil {
		return nil, fmt.Errorf("netlink.LinkAdd(%s): %w", name, err)
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("netlink.LinkByName(%s): %w", name, err)
	}
	return l, nil
}

// checkTap refuses a link that is not a persistent single-queue tap: multi-queue cannot be
// changed on an existing tap, and a non-persistent one belongs to whoever holds its fd.
func checkTap(l netlink.Link) error {
	name := l.Attrs().Name
	tt, ok := l.(*netlink.Tuntap)
	switch {
	case !ok:
		return fmt.Errorf("ensure tap %s: %w: it is a %s", name, ErrWrongKind, l.Type())
	case tt.Mode != netlink.TUNTAP_MODE_TAP:
		return fmt.Errorf("ensure tap %s: %w: it is a tun, not a tap", name, ErrWrongKind)
	case tt.NonPersist:
		return fmt.Errorf("ensure tap %s: %w: it is not persistent", name, ErrWrongKind)
	case tt.Flags&netlink.TUNTAP_MULTI_QUEUE != 0:
		return fmt.Errorf("ensure tap %s: %w: it is multi-queue", name, ErrWrongKind)
	}
	return nil
}

// RemoveTap deletes the tap. A QEMU still holding it loses its link. No tap of that name is not
// an error; a link of that name that is not a tap is (ErrWrongKind).
func RemoveTap(name string) error { return remove(name, "tuntap") }
