package firewall

import (
	"fmt"
	"net/netip"
)

// buildNAT builds the nat table:
//
//	CLOUDLET-PREROUTING   from PREROUTING: DNAT of floating IPs and port forwards arriving from outside
//	CLOUDLET-OUTPUT       from OUTPUT: the same DNAT for connections the host itself opens
//	CLOUDLET-POSTROUTING  from POSTROUTING: hairpin MASQUERADE, floating-IP SNAT, per-network MASQUERADE
func buildNAT(m Model) Table {
	var b chainBuilder
	b.ensure(chainPrerouting)
	b.ensure(chainOutput)
	b.ensure(chainPostrouting)
	for _, f := range m.FloatingIPs {
		for _, c := range []string{chainPrerouting, chainOutput} {
			b.add(c, "-d", host(f.IP), "-j", "DNAT", "--to-destination", f.FixedIP.String())
		}
	}
	for _, f := range m.PortForwards {
		for _, c := range []string{chainPrerouting, chainOutput} {
			b.add(c, forwardMatch(f)...)
		}
	}
	// Hairpin: a guest (or the host) reaching a published address of its own network gets the
	// host's address as source, so the reply comes back through the host and is un-NATed.
	for _, n := range m.Networks {
		if n.Shared { // the LAN's own traffic is not rewritten
			continue
		}
		br := n.Bridge
		b.add(chainPostrouting, cat(s("-s", n.Subnet.String(), "-o", br), ctstate("DNAT"), s("-j", "MASQUERADE"))...)
		b.add(chainPostrouting, cat(s("-o", br, "-m", "addrtype", "--src-type", "LOCAL"), ctstate("DNAT"), s("-j", "MASQUERADE"))...)
	}
	for _, f := range m.FloatingIPs {
		b.add(chainPostrouting, "-s", host(f.FixedIP), "-o", f.Interface, "-j", "SNAT", "--to-source", f.IP.String())
	}
	for _, n := range m.Networks {
		if !n.NAT {
			continue
		}
		sub := n.Subnet.String()
		if n.Uplink == "" {
			b.add(chainPostrouting, "-s", sub, "!", "-d", sub, "!", "-o", n.Bridge, "-j", "MASQUERADE")
		} else {
			b.add(chainPostrouting, "-s", sub, "!", "-d", sub, "-o", n.Uplink, "-j", "MASQUERADE")
		}
	}
	return Table{Name: "nat", Chains: b.sorted(), Jumps: []Jump{
		{From: "OUTPUT", To: chainOutput},
		{From: "POSTROUTING", To: chainPostrouting},
		{From: "PREROUTING", To: chainPrerouting},
	}}
}

// forwardMatch is the DNAT rule of a port forward: on its host IP, or on any local address.
func forwardMatch(f PortForward) []string {
	var spec []string
	if f.HostIP.IsValid() {
		spec = append(spec, "-d", host(f.HostIP))
	}
	spec = append(spec, "-p", f.Protocol)
	if !f.HostIP.IsValid() {
		spec = append(spec, "-m", "addrtype", "--dst-type", "LOCAL")
	}
	spec = append(spec, "-m", f.Protocol, "--dport", fmt.Sprint(f.HostPort),
		"-j", "DNAT", "--to-destination", netip.AddrPortFrom(f.FixedIP, uint16(f.Port)).String())
	return spec
}
