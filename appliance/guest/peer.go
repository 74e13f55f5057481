package guest

import (
	"net"
	"net/netip"
)

// peerAddr is the TCP peer's address (IPv4-mapped addresses unmapped); invalid for anything else.
func peerAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
