package dhcp

import (
	"fmt"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// neighbours writes ARP entries on the server's interface with ioctl(SIOCSARP) on a socket kept
// open for the server's life, as dnsmasq does. One ioctl costs about 0.3 µs. The netlink library's
// RTM_NEWNEIGH round trip costs about 5 µs, and with a new netlink socket and a lookup of the link by
// name for every reply, as this server first did, three quarters of its CPU time (benchmark B6).
type neighbours struct {
	ifname string
	fd     int // an AF_INET datagram socket, only for the ioctl
}

// arpreq is Linux's struct arpreq (net/if_arp.h): 68 bytes, no padding.
type arpreq struct {
	pa      unix.RawSockaddrInet4 // protocol address
	ha      unix.RawSockaddr      // hardware address
	flags   int32
	netmask unix.RawSockaddr // proxy ARP only
	dev     [unix.IFNAMSIZ]byte
}

const atfCom = 0x02 // ATF_COM: the entry has a hardware address

func openNeighbours(ifname string) (*neighbours, error) {
	if len(ifname) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("interface name %q is longer than %d bytes", ifname, unix.IFNAMSIZ-1)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket(AF_INET, SOCK_DGRAM) for ARP entries: %w", err)
	}
	return &neighbours{ifname: ifname, fd: fd}, nil
}

// set tells the kernel that a is at mac on the server's interface, so a unicast reply to a client
// that has no address yet (and so answers no ARP) can be sent. The entry is an ordinary one (the
// kernel makes it STALE: used for the reply at once, then probed and dropped if nobody answers),
// not a permanent one that would outlive the guest.
func (n *neighbours) set(a netip.Addr, mac net.HardwareAddr) error {
	r := arpreq{flags: atfCom}
	r.pa.Family, r.pa.Addr = unix.AF_INET, a.As4()
	r.ha.Family = unix.ARPHRD_ETHER
	for i, b := range mac[:min(len(mac), len(r.ha.Data))] {
		r.ha.Data[i] = int8(b)
	}
	copy(r.dev[:], n.ifname)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(n.fd), unix.SIOCSARP, uintptr(unsafe.Pointer(&r))); errno != 0 {
		return fmt.Errorf("ioctl(SIOCSARP %s %s dev %s): %w", a, mac, n.ifname, errno)
	}
	return nil
}

func (n *neighbours) close() { unix.Close(n.fd) }
