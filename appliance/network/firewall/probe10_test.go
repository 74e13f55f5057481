package firewall

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Finding 10: a security-group rule with a remote group was expanded into one rule per member
// address in every member's chain: 97 ports in group default made 9,218 iptables rules, and each
// port change rewrote every port's chains. A remote group is now one ipset.

// ruleCount counts the iptables rules of rs, jumps included.
func ruleCount(rs Ruleset) int {
	n := 0
	for _, t := range rs.Tables {
		n += len(t.Jumps)
		for _, c := range t.Chains {
			n += len(c.Rules)
		}
	}
	return n
}

func build(t *testing.T, m Model) Ruleset {
	t.Helper()
	rs, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestProbe10RemoteGroupRulesGrowLinearly: 500 ports in one default group make no more rules than
// one port makes plus what each further port adds, and no more than the same ports in a group that
// admits the subnet by CIDR; the group's members are one set.
func TestProbe10RemoteGroupRulesGrowLinearly(t *testing.T) {
	const n = 500
	one := ruleCount(build(t, bigModel(1, defaultGroup)))
	perPort := ruleCount(build(t, bigModel(2, defaultGroup))) - one
	rs := build(t, bigModel(n, defaultGroup))
	if got, limit := ruleCount(rs), one+(n-1)*perPort; got > limit {
		t.Errorf("%d ports in a remote group: %d rules, more than linear growth allows (%d = %d + %d×%d)",
			n, got, limit, one, n-1, perPort)
	}
	if got, cidr := ruleCount(rs), ruleCount(build(t, bigModel(n, openGroup))); got > cidr {
		t.Errorf("%d ports in a remote group: %d rules; the same ports with a CIDR rule: %d", n, got, cidr)
	}
	if len(rs.Sets) != 1 || rs.Sets[0].Name != setName("default") || len(rs.Sets[0].Members) != n {
		t.Errorf("sets: want one, %s, with %d members; got %d sets", setName("default"), n, len(rs.Sets))
	}
}

// TestProbe10PortUpdateChangesOnlySetMembers: a port leaving the default group for a group with
// the same rules changes the default group's set and nothing else; no chain is rewritten (the
// kernel's rule handles stay the same).
func TestProbe10PortUpdateChangesOnlySetMembers(t *testing.T) {
	a := newApplier(t)
	other := SecurityGroup{ID: "other", Rules: []Rule{
		{Direction: Egress, Protocol: Any},
		{Direction: Ingress, Protocol: Any, RemoteGroup: "default"},
	}}
	m := natDefault()
	m.SecurityGroups = append(m.SecurityGroups, other)
	apply(t, a, m)
	before := nftFilter(t)
	if got := liveMembers(t, "default"); !slices.Equal(got, addrs("10.88.0.10", "10.88.0.11")) {
		t.Fatalf("default's set: %v", got)
	}

	m.Ports[1].SecurityGroups = []string{"other"} // port-b (10.88.0.11) leaves default
	apply(t, a, m)
	if got := liveMembers(t, "default"); !slices.Equal(got, addrs("10.88.0.10")) {
		t.Errorf("default's set after port-b left: %v, want only 10.88.0.10", got)
	}
	if diff := cmp.Diff(before, nftFilter(t)); diff != "" {
		t.Errorf("chains were rewritten for a change of set members only (-before +after):\n%s", diff)
	}
}

// TestProbe10LastNetworkGoneLeavesNoSet: when the last network goes, the network service applies
// an empty ruleset: no chain, jump or set of cloudlet's is left.
func TestProbe10LastNetworkGoneLeavesNoSet(t *testing.T) {
	a := newApplier(t)
	apply(t, a, goldenModels()["security-groups"])
	if err := a.Apply(context.Background(), Ruleset{}); err != nil {
		t.Fatal(err)
	}
	if out := iptablesSave(t); strings.Contains(out, Prefix) {
		t.Errorf("cloudlet rules left:\n%s", out)
	}
	if sets, err := liveSets(); err != nil || len(sets) != 0 {
		t.Errorf("cloudlet sets left: %v, %v", sets, err)
	}
}

// liveMembers lists the members of group's set in the kernel.
func liveMembers(t *testing.T, group string) []netip.Addr {
	t.Helper()
	sets, err := listSets()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := sets[setName(group)]
	if !ok {
		t.Fatalf("no set %s for group %s", setName(group), group)
	}
	return s.Members
}

var counters = regexp.MustCompile(`counter packets \d+ bytes \d+ `)

// nftFilter lists the ip filter table with rule handles (new ones whenever a chain is rewritten).
func nftFilter(t *testing.T) string {
	t.Helper()
	return counters.ReplaceAllString(run(t, "nft", "-a", "list", "table", "ip", "filter"), "")
}

// TestProbe10RemoteGroupAdmitsMembersOnly: b admits traffic from members of its default group
// only. Real packets: a member's arrive, a non-member's (c, in a group of its own) do not; after
// port updates move c into default and a out of it, c's arrive and a's do not.
func TestProbe10RemoteGroupAdmitsMembersOnly(t *testing.T) {
	const sysctl = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if err := os.WriteFile(sysctl, []byte("1\n"), 0o644); err != nil {
		t.Fatalf("br_netfilter is not available (%v): bridged traffic cannot be filtered; load the br_netfilter module", err)
	}
	run(t, "ip", "link", "add", "clbr-t", "type", "bridge")
	run(t, "ip", "link", "set", "clbr-t", "up")
	t.Cleanup(func() { exec.Command("ip", "link", "del", "clbr-t").Run() })
	a := newGuest(t, "clt-a", "52:54:00:00:00:0a", "10.77.0.10/24")
	b := newGuest(t, "clt-b", "52:54:00:00:00:0b", "10.77.0.11/24")
	c := newGuest(t, "clt-c", "52:54:00:00:00:0c", "10.77.0.12/24")
	outsiders := SecurityGroup{ID: "outsiders", Rules: []Rule{{Direction: Egress, Protocol: Any}}}
	m := Model{
		Networks: []Network{{ID: "n", Bridge: "clbr-t", Subnet: netip.MustParsePrefix("10.77.0.0/24")}},
		Ports: []Port{
			{ID: "a", Network: "n", Tap: "clt-a", MAC: a.mac, IPs: addrs("10.77.0.10"), PortSecurity: true, SecurityGroups: []string{"default"}},
			{ID: "b", Network: "n", Tap: "clt-b", MAC: b.mac, IPs: addrs("10.77.0.11"), PortSecurity: true, SecurityGroups: []string{"default"}},
			{ID: "c", Network: "n", Tap: "clt-c", MAC: c.mac, IPs: addrs("10.77.0.12"), PortSecurity: true, SecurityGroups: []string{"outsiders"}},
		},
		SecurityGroups: []SecurityGroup{defaultGroup, outsiders},
	}
	fw := newApplier(t)
	apply(t, fw, m)
	var conn net.PacketConn
	b.do(t, func() (err error) {
		conn, err = net.ListenPacket("udp4", "10.77.0.11:9999")
		return err
	})
	defer conn.Close()

	sendUDP(t, a, "member a, before", "10.77.0.11:9999")
	sendUDP(t, c, "outsider c, before", "10.77.0.11:9999")
	got := receive(conn)
	if got["member a, before"] == 0 {
		t.Errorf("a member's packets did not arrive (got %v)", got)
	}
	if got["outsider c, before"] != 0 {
		t.Errorf("%d packets from a non-member arrived", got["outsider c, before"])
	}

	m.Ports[0].SecurityGroups = []string{"outsiders"} // port updates: a leaves default, c joins
	m.Ports[2].SecurityGroups = []string{"default"}
	apply(t, fw, m)
	sendUDP(t, a, "a, after leaving", "10.77.0.11:9999")
	sendUDP(t, c, "c, after joining", "10.77.0.11:9999")
	got = receive(conn)
	if got["c, after joining"] == 0 {
		t.Errorf("packets of c, now a member, did not arrive (got %v)", got)
	}
	if got["a, after leaving"] != 0 {
		t.Errorf("%d packets from a, no longer a member, arrived", got["a, after leaving"])
	}
}

// sendUDP sends payload three times from g to the address to.
func sendUDP(t *testing.T, g guest, payload, to string) {
	t.Helper()
	g.do(t, func() error {
		c, err := net.Dial("udp4", to)
		if err != nil {
			return err
		}
		defer c.Close()
		for range 3 {
			if _, err := c.Write([]byte(payload)); err != nil {
				return err
			}
		}
		return nil
	})
}

// receive counts the datagrams conn gets, by payload, until none came for two seconds.
func receive(conn net.PacketConn) map[string]int {
	got := map[string]int{}
	buf := make([]byte, 64)
	for {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return got
		}
		got[string(buf[:n])]++
	}
}
