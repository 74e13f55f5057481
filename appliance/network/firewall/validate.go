package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"cloudlet/appliance/fault"
)

// Validate reports every problem in m, each naming its item; the errors are of kind fault.Invalid.
func (m Model) Validate() error {
	v := &validator{m: m}
	v.networks()
	v.groups()
	v.ports()
	v.floatingIPs()
	v.portForwards()
	return errors.Join(v.errs...)
}

type validator struct {
	m    Model
	errs []error
}

func (v *validator) fail(format string, args ...any) {
	v.errs = append(v.errs, fault.New(fault.Invalid, format, args...))
}

func (v *validator) networks() {
	ids, ifaces := map[string]bool{}, map[string]bool{}
	for _, n := range v.m.Networks {
		what := fmt.Sprintf("network %q", n.ID)
		if n.ID == "" {
			v.fail("network with bridge %q: empty id", n.Bridge)
		} else if ids[n.ID] {
			v.fail("%s: duplicate id", what)
		}
		ids[n.ID] = true
		if err := checkIfname(n.Bridge); err != nil {
			v.fail("%s: bridge: %v", what, err)
		} else if ifaces[n.Bridge] {
			v.fail("%s: bridge %q used twice", what, n.Bridge)
		}
		ifaces[n.Bridge] = true
		if n.Shared && (n.NAT || n.Uplink != "") {
			v.fail("%s: a shared host bridge has no NAT and no uplink of cloudlet's", what)
		}
		if n.Uplink != "" {
			if err := checkIfname(n.Uplink); err != nil {
				v.fail("%s: uplink: %v", what, err)
			} else if n.Uplink == n.Bridge {
				v.fail("%s: uplink %q is its own bridge", what, n.Uplink)
			}
		}
		if err := checkPrefix(n.Subnet); err != nil {
			v.fail("%s: subnet: %v", what, err)
			continue
		}
		if n.Gateway.IsValid() && !v.hostIn(n.Subnet, n.Gateway) {
			v.fail("%s: gateway %v is not a host address of %v", what, n.Gateway, n.Subnet)
		}
		if n.Metadata.IsValid() && (n.Metadata.Addr() != n.Gateway || n.Metadata.Port() == 0) {
			v.fail("%s: metadata listener %v is not a port on its gateway %v", what, n.Metadata, n.Gateway)
		}
	}
}

func (v *validator) groups() {
	ids := map[string]bool{}
	for _, g := range v.m.SecurityGroups {
		if g.ID == "" {
			v.fail("security group with empty id")
		} else if ids[g.ID] {
			v.fail("security group %q: duplicate id", g.ID)
		}
		ids[g.ID] = true
	}
	for _, g := range v.m.SecurityGroups {
		for i, r := range g.Rules {
			if err := checkRule(r, ids); err != nil {
				v.fail("security group %q rule %d (%s %s): %v", g.ID, i, r.Direction, r.Protocol, err)
			}
		}
	}
}

func checkRule(r Rule, groups map[string]bool) error {
	if r.Direction != Ingress && r.Direction != Egress {
		return fmt.Errorf("direction %q is not ingress or egress", r.Direction)
	}
	switch r.Protocol {
	case TCP, UDP:
		if r.PortMin != 0 || r.PortMax != 0 {
			if r.PortMin < 1 || r.PortMin > 65535 || r.PortMax < 1 || r.PortMax > 65535 {
				return fmt.Errorf("ports %d-%d: each must be 1-65535 (or both 0 for all)", r.PortMin, r.PortMax)
			}
			if r.PortMin > r.PortMax {
				return fmt.Errorf("ports %d-%d: min is above max", r.PortMin, r.PortMax)
			}
		}
	case ICMP, Any:
		if r.PortMin != 0 || r.PortMax != 0 {
			return fmt.Errorf("protocol %s takes no ports (got %d-%d)", r.Protocol, r.PortMin, r.PortMax)
		}
	default:
		return fmt.Errorf("protocol %q is not tcp, udp, icmp or any", r.Protocol)
	}
	if r.RemoteCIDR.IsValid() && r.RemoteGroup != "" {
		return fmt.Errorf("both remote CIDR %v and remote group %q", r.RemoteCIDR, r.RemoteGroup)
	}
	if r.RemoteCIDR.IsValid() {
		if err := checkPrefix(r.RemoteCIDR); err != nil {
			return fmt.Errorf("remote CIDR: %w", err)
		}
	}
	if r.RemoteGroup != "" && !groups[r.RemoteGroup] {
		return fmt.Errorf("unknown remote group %q", r.RemoteGroup)
	}
	return nil
}

func (v *validator) ports() {
	nets := map[string]Network{}
	for _, n := range v.m.Networks {
		nets[n.ID] = n
	}
	groups := map[string]bool{}
	for _, g := range v.m.SecurityGroups {
		groups[g.ID] = true
	}
	ifaces := map[string]bool{}
	for _, n := range v.m.Networks {
		ifaces[n.Bridge] = true
	}
	ids, ips := map[string]bool{}, map[netip.Addr]string{}
	for _, p := range v.m.Ports {
		what := fmt.Sprintf("port %q", p.ID)
		if p.ID == "" {
			v.fail("port with tap %q: empty id", p.Tap)
		} else if ids[p.ID] {
			v.fail("%s: duplicate id", what)
		}
		ids[p.ID] = true
		if err := checkIfname(p.Tap); err != nil {
			v.fail("%s: tap: %v", what, err)
		} else if ifaces[p.Tap] {
			v.fail("%s: tap %q used twice", what, p.Tap)
		}
		ifaces[p.Tap] = true
		if len(p.MAC) != 6 || p.MAC[0]&1 == 1 {
			v.fail("%s: MAC %q is not a unicast Ethernet address", what, p.MAC)
		}
		n, ok := nets[p.Network]
		if !ok {
			v.fail("%s: unknown network %q", what, p.Network)
		}
		for _, ip := range p.IPs {
			if ok && n.Subnet.IsValid() && (!v.hostIn(n.Subnet, ip) || ip == n.Gateway) {
				v.fail("%s: IP %v is not a free host address of network %q (%v)", what, ip, n.ID, n.Subnet)
			}
			if other, dup := ips[ip]; dup {
				v.fail("%s: IP %v is also port %q's", what, ip, other)
			}
			ips[ip] = p.ID
		}
		for _, g := range p.SecurityGroups {
			if !groups[g] {
				v.fail("%s: unknown security group %q", what, g)
			}
		}
	}
}

func (v *validator) fixedIPs() map[netip.Addr]bool {
	fixed := map[netip.Addr]bool{}
	for _, p := range v.m.Ports {
		for _, ip := range p.IPs {
			fixed[ip] = true
		}
	}
	return fixed
}

func (v *validator) floatingIPs() {
	fixed := v.fixedIPs()
	seen, seenFixed := map[netip.Addr]bool{}, map[netip.Addr]bool{}
	for _, f := range v.m.FloatingIPs {
		what := fmt.Sprintf("floating IP %v", f.IP)
		if !isHostAddr(f.IP) {
			v.fail("%s: not an IPv4 host address", what)
		} else if seen[f.IP] {
			v.fail("%s: duplicate", what)
		}
		seen[f.IP] = true
		if !fixed[f.FixedIP] {
			v.fail("%s: fixed IP %v belongs to no port", what, f.FixedIP)
		} else if seenFixed[f.FixedIP] {
			v.fail("%s: fixed IP %v already has a floating IP", what, f.FixedIP)
		}
		seenFixed[f.FixedIP] = true
		if err := checkIfname(f.Interface); err != nil {
			v.fail("%s: interface: %v", what, err)
		}
	}
}

func (v *validator) portForwards() {
	fixed := v.fixedIPs()
	for i, f := range v.m.PortForwards {
		what := fmt.Sprintf("port forward %s %s:%d", f.Protocol, hostIPString(f.HostIP), f.HostPort)
		if f.Protocol != TCP && f.Protocol != UDP {
			v.fail("%s: protocol %q is not tcp or udp", what, f.Protocol)
		}
		if f.HostPort < 1 || f.HostPort > 65535 {
			v.fail("%s: host port %d is not 1-65535", what, f.HostPort)
		}
		if f.Port < 1 || f.Port > 65535 {
			v.fail("%s: port %d is not 1-65535", what, f.Port)
		}
		if f.HostIP.IsValid() && !isHostAddr(f.HostIP) {
			v.fail("%s: host IP is not an IPv4 host address", what)
		}
		if !fixed[f.FixedIP] {
			v.fail("%s: fixed IP %v belongs to no port", what, f.FixedIP)
		}
		for _, g := range v.m.PortForwards[:i] {
			if g.Protocol == f.Protocol && g.HostPort == f.HostPort &&
				(!g.HostIP.IsValid() || !f.HostIP.IsValid() || g.HostIP == f.HostIP) {
				v.fail("%s: conflicts with port forward %s %s:%d", what, g.Protocol, hostIPString(g.HostIP), g.HostPort)
				break
			}
		}
	}
}

func hostIPString(a netip.Addr) string {
	if !a.IsValid() {
		return "*"
	}
	return a.String()
}

// hostIn reports whether a is an IPv4 address of p other than its network and broadcast addresses.
func (v *validator) hostIn(p netip.Prefix, a netip.Addr) bool {
	if !a.Is4() || !p.Contains(a) {
		return false
	}
	if p.Bits() >= 31 {
		return true
	}
	return a != p.Addr() && a != broadcast(p)
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func isHostAddr(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() &&
		!a.IsLinkLocalUnicast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func checkPrefix(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("missing or invalid")
	case !p.Addr().Is4():
		return fmt.Errorf("%v is not IPv4 (IPv6 is not supported yet)", p)
	case p != p.Masked():
		return fmt.Errorf("%v has host bits set (did you mean %v?)", p, p.Masked())
	}
	return nil
}

func checkIfname(s string) error {
	if s == "" || len(s) > 15 || strings.ContainsAny(s, "/ \t\n\"'!+:") || s == "." || s == ".." {
		return fmt.Errorf("%q is not a valid interface name", s)
	}
	return nil
}
