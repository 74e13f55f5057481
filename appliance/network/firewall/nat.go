package firewall

import (
	"fmt"
	"net/netip"
)

// buildNAT builds the nat table:
//
//	CLOUDLET-PREROUTING   from PREROUTING: DNAT of floating IPs and port forwards arriving from outside,
//	                      and of guests' metadata requests to their network's metadata listener
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
	for _, n := range m.Networks {
		if n.Metadata.IsValid() && !n.Shared {
			b.add(chainPrerouting, metadataMatch(n)...)
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

// MetadataAddr is the metadata service's address as guests know it (port 80).
var MetadataAddr = netip.MustParseAddr("169.254.169.254")

// metadataMatch is the DNAT of a guest's connection to 169.254.169.254:80, arriving on its network's
// bridge, to the daemon's listener on that bridge (as Neutron's L3 agent redirects it to its proxy).
// The source stays the guest's: that is how the service knows who asks.
func metadataMatch(n Network) []string {
	return []string{"-d", host(MetadataAddr), "-i", n.Bridge, "-p", "tcp", "-m", "tcp", "--dport", "80",
		"-j", "DNAT", "--to-destination", n.Metadata.String()}
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
