package link

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenTap attaches to the existing persistent tap called name and returns the fd QEMU gets
// (-netdev tap,fd=N through exec.Cmd.ExtraFiles). It opens /dev/net/tun with the flags EnsureTap
// created the tap with (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR); the fd is close-on-exec, which ExtraFiles
// clears in the child. A missing tap is ErrNotFound: TUNSETIFF would silently create a new,
// unconfigured one.
func OpenTap(name string) (*os.File, error) {
	l, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("open tap %s: %w", name, ErrNotFound)
	}
	if err := checkTap(l); err != nil {
		return nil, err
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun for %s: %w", name, err)
	}
	if err := setIff(fd, name); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

func setIff(fd int, name string) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return fmt.Errorf("ioctl(TUNSETIFF, %s): %w", name, err)
	}
	ifr.SetUint16(uint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR))
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return fmt.Errorf("ioctl(TUNSETIFF, %s): %w", name, err)
	}
	return nil
}

// OpenVhost opens /dev/vhost-net for one NIC (QEMU's vhost=on,vhostfd=N), so the kernel moves
// the NIC's packets instead of QEMU's main loop. ErrNoVhost when the host has none (no device
// node, or the vhost_net module is not loaded); the NIC then works without it.
func OpenVhost() (*os.File, error) {
	f, err := os.OpenFile("/dev/vhost-net", os.O_RDWR, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
		return nil, fmt.Errorf("%w: %w", ErrNoVhost, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open /dev/vhost-net: %w", err)
	}
	return f, nil
}
