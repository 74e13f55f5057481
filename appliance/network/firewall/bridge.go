package firewall

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
)

// BridgeTable is the nftables table of the bridge family that cloudlet owns whole. iptables never sees
// ARP or non-IP frames, so the layer-2 half of anti-spoofing lives here: each secured port's tap may
// send only frames with its own source MAC, ARP only for its own addresses (or 0.0.0.0, an address
// probe), and nothing but IPv4 and ARP. The rest of anti-spoofing, and security groups, stay in
// iptables (buildFilter).
const BridgeTable = "cloudlet"

// buildBridge renders the bridge table as `nft list table bridge cloudlet` prints it, in the
// canonical order canonicalBridge puts a listing in (nft lists chains in the order they were
// made), so the live table can be compared with the built one byte for byte. The hooks dispatch
// through the verdict map "ports" (tap → the port's chain), so a port coming or going adds or
// deletes one element and one chain. No secured port: no table.
func buildBridge(m Model) string {
	secured := securedPorts(m)
	if len(secured) == 0 {
		return ""
	}
	slices.SortFunc(secured, func(a, b Port) int { return strings.Compare(a.Tap, b.Tap) })
	var elems []string
	for _, p := range secured {
		elems = append(elems, "\""+p.Tap+"\" : jump "+bridgeChain(p.ID))
	}
	var b strings.Builder
	b.WriteString("table bridge " + BridgeTable + " {\n")
	b.WriteString("\tmap " + bridgePorts + " {\n\t\ttype ifname : verdict\n" + mapElements(elems) + "\t}\n")
	for _, hook := range []string{"forward", "input"} {
		b.WriteString("\n\tchain " + hook + " {\n\t\ttype filter hook " + hook + " priority filter; policy accept;\n")
		b.WriteString("\t\tiifname vmap @" + bridgePorts + "\n\t}\n")
	}
	slices.SortFunc(secured, func(a, b Port) int { return strings.Compare(bridgeChain(a.ID), bridgeChain(b.ID)) })
	for _, p := range secured {
		mac := p.MAC.String()
		b.WriteString("\n\tchain " + bridgeChain(p.ID) + " {\n")
		b.WriteString("\t\tether saddr != " + mac + " drop\n")
		b.WriteString("\t\tarp saddr ether != " + mac + " drop\n")
		b.WriteString("\t\tarp saddr ip != " + nftSet(append([]netip.Addr{netip.IPv4Unspecified()}, p.IPs...)) + " drop\n")
		b.WriteString("\t\tether type != { ip, arp } drop\n")
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// bridgePorts is the verdict map from a secured port's tap to its chain.
const bridgePorts = "ports"

// mapElements prints a map's elements as nft lists them: one a line, continuation lines indented
// by three tabs and five blanks.
func mapElements(elems []string) string {
	if len(elems) == 0 {
		return ""
	}
	return "\t\telements = { " + strings.Join(elems, ",\n\t\t\t     ") + " }\n"
}

// bridgeChain names a port's chain in the bridge table.
func bridgeChain(portID string) string {
	sum := sha256.Sum256([]byte(portID))
	return "port-" + hex.EncodeToString(sum[:5])
}

// nftSet prints addresses as nft does: sorted, one alone without braces.
func nftSet(addrs []netip.Addr) string {
	addrs = slices.Clone(addrs)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.String()
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}
