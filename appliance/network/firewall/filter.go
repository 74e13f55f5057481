package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// buildFilter builds the filter table:
//
//	CLOUDLET-INPUT    from INPUT: anti-spoofing of traffic from taps to the host (DHCP, DNS, metadata)
//	CLOUDLET-FORWARD  from FORWARD: per-port egress and ingress chains, then per-network policy
//	CLOUDLET-S-<h>    a port's anti-spoofing: its MAC and IPs only (plus DHCP discovery)
//	CLOUDLET-O-<h>    a port's egress: anti-spoofing, no DHCP server, state, security group rules
//	CLOUDLET-I-<h>    a port's ingress: state, published port forwards, security group rules
//
// Port chains RETURN what they allow and DROP the rest, so a packet between two guests passes the
// sender's egress and then the receiver's ingress chain; the per-network rules then accept it.
func buildFilter(m Model) Table {
	var b chainBuilder
	b.ensure(chainInput)
	b.ensure(chainForward)
	secured := securedPorts(m)
	for _, p := range secured {
		b.add(chainInput, "-m", "physdev", "--physdev-in", p.Tap, "-j", chainName("S", p.ID))
	}
	// Egress: every packet from the tap, bridged or routed (br_netfilter records the in-port for
	// both), so a spoofed source cannot dodge the check by being routed.
	for _, p := range secured {
		b.add(chainForward, "-m", "physdev", "--physdev-in", p.Tap, "-j", chainName("O", p.ID))
	}
	// Ingress: bridged by out-port; routed by address (the out-port is not known when routing).
	nets := networksByID(m)
	for _, p := range secured {
		b.add(chainForward, "-m", "physdev", "--physdev-out", p.Tap, "--physdev-is-bridged", "-j", chainName("I", p.ID))
		for _, ip := range p.IPs {
			b.add(chainForward, "-d", host(ip), "-o", nets[p.Network].Bridge, "-j", chainName("I", p.ID))
		}
	}
	for _, n := range m.Networks {
		if n.Shared {
			sharedPolicy(&b, portsOf(m, n.ID))
		} else {
			networkPolicy(&b, n, m, portsOf(m, n.ID))
		}
	}
	for _, p := range secured {
		antiSpoof(&b, p)
		egress(&b, m, p)
		ingress(&b, m, p)
	}
	return Table{Name: "filter", Chains: b.sorted(),
		Jumps: []Jump{{From: "FORWARD", To: chainForward}, {From: "INPUT", To: chainInput}}}
}

// networkPolicy decides, after the port chains, what crosses the network's bridge: traffic inside
// the network; out to the uplink (NAT: the subnet only; routed: all) and back; nothing else, so
// networks are isolated from each other whatever the host's FORWARD policy is.
func networkPolicy(b *chainBuilder, n Network, m Model, ports []Port) {
	br := n.Bridge
	fips := m.FloatingIPs
	b.add(chainForward, "-i", br, "-o", br, "-j", "ACCEPT")
	switch {
	case n.NAT:
		b.add(chainForward, cat(s("-d", n.Subnet.String(), "-o", br), ctstate("RELATED,ESTABLISHED,DNAT"), s("-j", "ACCEPT"))...)
	case n.Uplink != "":
		b.add(chainForward, "-i", n.Uplink, "-o", br, "-j", "ACCEPT")
		fallthrough
	default: // published addresses of a routed or isolated network
		for _, ip := range publishedIPs(m, ports) {
			b.add(chainForward, cat(s("-d", host(ip), "-o", br), ctstate("RELATED,ESTABLISHED,DNAT"), s("-j", "ACCEPT"))...)
		}
	}
	b.add(chainForward, "-o", br, "-j", "DROP")
	for _, f := range fips {
		if portHasIP(ports, f.FixedIP) && f.Interface != n.Uplink {
			b.add(chainForward, "-s", host(f.FixedIP), "-i", br, "-o", f.Interface, "-j", "ACCEPT")
		}
	}
	switch {
	case n.NAT && n.Uplink == "":
		b.add(chainForward, "-s", n.Subnet.String(), "-i", br, "-j", "ACCEPT")
	case n.NAT:
		b.add(chainForward, "-s", n.Subnet.String(), "-i", br, "-o", n.Uplink, "-j", "ACCEPT")
	case n.Uplink != "":
		b.add(chainForward, "-i", br, "-o", n.Uplink, "-j", "ACCEPT")
	}
	b.add(chainForward, "-i", br, "-j", "DROP")
}

// sharedPolicy accepts, on a host bridge, what the secured ports' own chains let through (they ran
// first and dropped the rest), whatever the host's FORWARD policy; other traffic on that bridge is
// the host's business.
func sharedPolicy(b *chainBuilder, ports []Port) {
	for _, p := range ports {
		if p.PortSecurity {
			b.add(chainForward, "-m", "physdev", "--physdev-in", p.Tap, "--physdev-is-bridged", "-j", "ACCEPT")
			b.add(chainForward, "-m", "physdev", "--physdev-out", p.Tap, "--physdev-is-bridged", "-j", "ACCEPT")
		}
	}
}

// antiSpoof lets through only the port's MAC with its IPs, or 0.0.0.0 asking for DHCP. The MAC is
// lower case, as iptables-nft prints it.
func antiSpoof(b *chainBuilder, p Port) {
	c := chainName("S", p.ID)
	b.add(c, "-m", "mac", "!", "--mac-source", p.MAC.String(), "-j", "DROP")
	b.add(c, "-s", "0.0.0.0/32", "-d", "255.255.255.255/32", "-p", "udp", "-m", "udp", "--sport", "68", "--dport", "67", "-j", "RETURN")
	for _, ip := range p.IPs {
		b.add(c, "-s", host(ip), "-j", "RETURN")
	}
	b.add(c, "-j", "DROP")
}

func egress(b *chainBuilder, m Model, p Port) {
	c := chainName("O", p.ID)
	b.add(c, "-j", chainName("S", p.ID))
	b.add(c, "-p", "udp", "-m", "udp", "--sport", "67", "-j", "DROP") // no DHCP server in guests
	b.add(c, cat(ctstate("RELATED,ESTABLISHED"), s("-j", "RETURN"))...)
	b.add(c, cat(ctstate("INVALID"), s("-j", "DROP"))...)
	for _, r := range groupRules(m, p, Egress) {
		b.add(c, r...)
	}
	b.add(c, "-j", "DROP")
}

func ingress(b *chainBuilder, m Model, p Port) {
	c := chainName("I", p.ID)
	b.add(c, cat(ctstate("RELATED,ESTABLISHED"), s("-j", "RETURN"))...)
	b.add(c, cat(ctstate("INVALID"), s("-j", "DROP"))...)
	// A port forward is an explicit publication: it passes whatever the groups say.
	for _, f := range m.PortForwards {
		if slices.Contains(p.IPs, f.FixedIP) {
			b.add(c, cat(s("-d", host(f.FixedIP), "-p", f.Protocol, "-m", f.Protocol, "--dport", fmt.Sprint(f.Port)),
				ctstate("DNAT"), s("-j", "RETURN"))...)
		}
	}
	for _, r := range groupRules(m, p, Ingress) {
		b.add(c, r...)
	}
	b.add(c, "-j", "DROP")
}

// groupRules turns the rules of p's groups in one direction into RETURN rules, a remote group
// into one rule matching its set; sorted and without duplicates.
func groupRules(m Model, p Port, dir string) [][]string {
	var out [][]string
	for _, g := range m.SecurityGroups {
		if !slices.Contains(p.SecurityGroups, g.ID) {
			continue
		}
		for _, r := range g.Rules {
			if r.Direction == dir {
				out = append(out, ruleSpec(r))
			}
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(strings.Join(a, " "), strings.Join(b, " ")) })
	return slices.CompactFunc(out, slices.Equal)
}

// ruleSpec spells r in the order iptables-save prints its matches: address, protocol, set, port.
func ruleSpec(r Rule) []string {
	var spec []string
	if r.RemoteCIDR.IsValid() && r.RemoteCIDR.Bits() > 0 && r.RemoteGroup == "" {
		flag := "-s"
		if r.Direction == Egress {
			flag = "-d"
		}
		spec = append(spec, flag, r.RemoteCIDR.String())
	}
	if r.Protocol != Any {
		spec = append(spec, "-p", r.Protocol)
	}
	if r.RemoteGroup != "" {
		spec = append(spec, setMatch(setName(r.RemoteGroup), r.Direction)...)
	}
	if (r.Protocol == TCP || r.Protocol == UDP) && r.PortMin != 0 {
		ports := fmt.Sprint(r.PortMin)
		if r.PortMax != r.PortMin {
			ports += ":" + fmt.Sprint(r.PortMax)
		}
		spec = append(spec, "-m", r.Protocol, "--dport", ports)
	}
	return append(spec, "-j", "RETURN")
}

// groupMembers maps each group to the sorted addresses of its ports (with port security).
func groupMembers(secured []Port) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	for _, p := range secured {
		for _, g := range p.SecurityGroups {
			out[g] = append(out[g], p.IPs...)
		}
	}
	for g := range out {
		slices.SortFunc(out[g], netip.Addr.Compare)
		out[g] = slices.Compact(out[g])
	}
	return out
}

func securedPorts(m Model) []Port {
	var out []Port
	for _, p := range m.Ports {
		if p.PortSecurity {
			out = append(out, p)
		}
	}
	return out
}

func networksByID(m Model) map[string]Network {
	out := map[string]Network{}
	for _, n := range m.Networks {
		out[n.ID] = n
	}
	return out
}

func portsOf(m Model, network string) []Port {
	var out []Port
	for _, p := range m.Ports {
		if p.Network == network {
			out = append(out, p)
		}
	}
	return out
}

func portHasIP(ports []Port, ip netip.Addr) bool {
	for _, p := range ports {
		if slices.Contains(p.IPs, ip) {
			return true
		}
	}
	return false
}

// publishedIPs are the fixed IPs of ports that a floating IP or port forward points at, sorted.
func publishedIPs(m Model, ports []Port) []netip.Addr {
	var out []netip.Addr
	for _, f := range m.FloatingIPs {
		if portHasIP(ports, f.FixedIP) {
			out = append(out, f.FixedIP)
		}
	}
	for _, f := range m.PortForwards {
		if portHasIP(ports, f.FixedIP) {
			out = append(out, f.FixedIP)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
