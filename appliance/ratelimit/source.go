package ratelimit

import (
	"net"
	"net/netip"
)

// maxKeyLen bounds a key taken from an unparsable address, so a limiter's memory stays bounded.
const maxKeyLen = 64

// SourceKey is the key of a peer address ("ip" or "ip:port") for per-source limits: the IPv4
// address, or the IPv6 /64 (one host usually holds a whole /64, so per-address keys would give it
// billions of buckets). Anything unparsable is taken as it is, cut to 64 bytes.
func SourceKey(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host[:min(len(host), maxKeyLen)]
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
