package qga

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Caps on what is kept of the guest's information.
const (
	MaxName       = 255 // bytes of a host name, interface name or OS string
	MaxInterfaces = 16
	MaxIPs        = 16 // per interface
)

// Interface is one network interface of the guest, as its agent reports it.
type Interface struct {
	Name string         `json:"interface"`
	MAC  string         `json:"mac,omitempty"`
	IPs  []netip.Prefix `json:"ips,omitempty"`
}

// HostName asks the guest for its host name (guest-get-host-name).
func (c *Client) HostName() (string, error) {
	var r struct {
		HostName string `json:"host-name"`
	}
	if err := c.Execute("guest-get-host-name", nil, &r); err != nil {
		return "", err
	}
	return clean(r.HostName, MaxName), nil
}

// OSInfo asks the guest for its operating system (guest-get-osinfo): its pretty name, else name
// and version.
func (c *Client) OSInfo() (string, error) {
	var r struct {
		PrettyName string `json:"pretty-name"`
		Name       string `json:"name"`
		Version    string `json:"version"`
	}
	if err := c.Execute("guest-get-osinfo", nil, &r); err != nil {
		return "", err
	}
	if r.PrettyName != "" {
		return clean(r.PrettyName, MaxName), nil
	}
	return clean(strings.TrimSpace(r.Name+" "+r.Version), MaxName), nil
}

// Interfaces asks the guest for its network interfaces (guest-network-get-interfaces). The
// loopback interface is left out; an address or MAC that does not parse fails the whole answer.
func (c *Client) Interfaces() ([]Interface, error) {
	var r []struct {
		Name string `json:"name"`
		MAC  string `json:"hardware-address"`
		IPs  []struct {
			Addr   string `json:"ip-address"`
			Prefix int    `json:"prefix"`
		} `json:"ip-addresses"`
	}
	if err := c.Execute("guest-network-get-interfaces", nil, &r); err != nil {
		return nil, err
	}
	var out []Interface
	for _, in := range r {
		ifc := Interface{Name: clean(in.Name, MaxName)}
		if in.MAC != "" {
			mac, err := net.ParseMAC(in.MAC)
			if err != nil {
				return nil, fmt.Errorf("guest agent interface %q: %w: MAC: %v", ifc.Name, ErrMalformed, err)
			}
			ifc.MAC = mac.String()
		}
		for _, ip := range in.IPs {
			p, err := parsePrefix(ip.Addr, ip.Prefix)
			if err != nil {
				return nil, fmt.Errorf("guest agent interface %q: %w: %v", ifc.Name, ErrMalformed, err)
			}
			if !p.Addr().IsLoopback() && len(ifc.IPs) < MaxIPs {
				ifc.IPs = append(ifc.IPs, p)
			}
		}
		if ifc.Name != "lo" && len(out) < MaxInterfaces {
			out = append(out, ifc)
		}
	}
	return out, nil
}

// parsePrefix parses an address and its prefix length; a zone (fe80::1%eth0) is dropped.
func parsePrefix(addr string, bits int) (netip.Prefix, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, err
	}
	p := netip.PrefixFrom(a.WithZone(""), bits)
	if !p.IsValid() {
		return netip.Prefix{}, fmt.Errorf("prefix length %d of %s", bits, a)
	}
	return p, nil
}

// clean returns s without control characters or invalid UTF-8, cut to at most max bytes at a rune
// boundary.
func clean(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
