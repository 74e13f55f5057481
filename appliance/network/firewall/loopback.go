package firewall

import (
	"slices"
)

// A port forward on every host address also answers on the host's loopback (curl 127.0.0.1:N):
// CLOUDLET-OUTPUT's DNAT matches 127.0.0.1 (an address of type LOCAL) and the hairpin MASQUERADE
// gives the connection the bridge's address as source. The kernel still refuses to route a
// 127.0.0.0/8 address to or from a bridge unless net.ipv4.conf.<bridge>.route_localnet=1, and that
// sysctl alone would let anything on the bridge reach the host's loopback services
// (Kubernetes CVE-2020-8558). So the bridges that carry such a forward (LoopbackBridges) get the
// sysctl from the network service only while the raw table's guard is live: packets from any
// interface but lo with a 127.0.0.0/8 source or destination are dropped before conntrack sees them.
// Replies to the host's own loopback connections pass: they arrive addressed to the bridge's
// address and are un-NATed to 127.0.0.1 only after the raw table.

// loopbackNet is the host's loopback range, which no packet from outside lo may carry.
const loopbackNet = "127.0.0.0/8"

// LoopbackBridges returns, sorted, the bridges that must route 127.0.0.0/8 (route_localnet) for
// the model's port forwards on every host address to answer on the host's loopback: the bridges of
// the networks holding their fixed IPs. Build guards them (buildRaw) whenever this is not empty.
func LoopbackBridges(m Model) []string {
	nets := networksByID(m)
	var out []string
	for _, f := range m.PortForwards {
		if f.HostIP.IsValid() {
			continue // a forward on one address answers on that address only
		}
		for _, p := range m.Ports {
			if n, ok := nets[p.Network]; ok && !n.Shared && slices.Contains(p.IPs, f.FixedIP) {
				out = append(out, n.Bridge)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// buildRaw builds the raw table's guard, when some bridge routes the loopback range:
//
//	CLOUDLET-PREROUTING  from PREROUTING: drop 127.0.0.0/8 destinations and sources not from lo
func buildRaw(m Model) (Table, bool) {
	if len(LoopbackBridges(m)) == 0 {
		return Table{}, false
	}
	var b chainBuilder
	b.add(chainPrerouting, "-s", loopbackNet, "!", "-i", "lo", "-j", "DROP")
	b.add(chainPrerouting, "-d", loopbackNet, "!", "-i", "lo", "-j", "DROP")
	return Table{Name: "raw", Chains: b.sorted(), Jumps: []Jump{{From: "PREROUTING", To: chainPrerouting}}}, true
}
