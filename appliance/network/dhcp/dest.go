package dhcp

import (
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// destination is where a reply goes: to IP, and, when resolve is set, to the client's hardware
// address without asking ARP (the client has no address yet and would not answer).
type destination struct {
	IP      netip.Addr
	Resolve bool
}

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// replyDest applies RFC 2131 4.1 for a server on the client's own link (relayed requests are
// refused before this): NAKs are broadcast; a client with an address gets unicast to ciaddr; one
// that asked for broadcast gets broadcast; any other gets unicast to yiaddr and chaddr.
func replyDest(req, resp *dhcpv4.DHCPv4) destination {
	if resp.MessageType() == dhcpv4.MessageTypeNak {
		return destination{IP: broadcast}
	}
	if ci, ok := netip.AddrFromSlice(req.ClientIPAddr.To4()); ok && !ci.IsUnspecified() {
		return destination{IP: ci}
	}
	if req.IsBroadcast() {
		return destination{IP: broadcast}
	}
	yi, ok := netip.AddrFromSlice(resp.YourIPAddr.To4())
	if !ok || yi.IsUnspecified() {
		return destination{IP: broadcast}
	}
	return destination{IP: yi, Resolve: true}
}
