package network

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
)

// hostPortFree checks that no socket of the host holds proto/ip:port by binding it for a moment
// (ip invalid = every address, which any socket on the port blocks). A port forward's DNAT would
// take such a port's traffic away from the service listening there, the daemon's API included.
func hostPortFree(proto string, ip netip.Addr, port int) error {
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	addr := netip.AddrPortFrom(ip, uint16(port)).String()
	var c io.Closer
	var err error
	if proto == "udp" {
		c, err = net.ListenPacket("udp4", addr)
	} else {
		c, err = net.Listen("tcp4", addr)
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return errConflict("host port %d/%s is in use on the host", port, proto)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return errInvalid("host_ip %s is not an address of the host", ip)
	case err != nil:
		return fmt.Errorf("check host port %d/%s: %w", port, proto, err)
	}
	return c.Close()
}
