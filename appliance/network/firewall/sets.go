package firewall

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// A rule with a remote group matches the group's members through one ipset (hash:ip, IPv4) per
// group, as Neutron does: each port's chains hold one rule per security-group rule whatever the
// group's size, so the ruleset grows linearly with ports, and a port joining or leaving a group
// changes the set's members, not the other ports' chains.

// Set is one ipset that cloudlet owns: a remote group's members.
type Set struct {
	Name    string
	Kind    string       // type and family as `ipset save` prints them; Build makes setKind only
	Members []netip.Addr // sorted, no duplicates
}

// setKind is the only kind of set cloudlet makes: IPv4 addresses.
const setKind = "hash:ip family inet"

// setName derives a stable set name from a security group's ID (21 characters; ipset allows 31).
func setName(groupID string) string {
	sum := sha256.Sum256([]byte(groupID))
	return Prefix + "-G-" + hex.EncodeToString(sum[:5])
}

// setMatch matches packets whose remote end (the source of ingress, the destination of egress)
// is in set, spelled as iptables-save prints it.
func setMatch(set, dir string) []string {
	end := "src"
	if dir == Egress {
		end = "dst"
	}
	return []string{"-m", "set", "--match-set", set, end}
}

// buildSets returns a set for every remote group that a secured port's rules name (empty when
// the group has no secured member), sorted by name; members maps a group to its addresses.
func buildSets(m Model, secured []Port, members map[string][]netip.Addr) ([]Set, error) {
	named := map[string]bool{}
	for _, p := range secured {
		for _, g := range m.SecurityGroups {
			if !slices.Contains(p.SecurityGroups, g.ID) {
				continue
			}
			for _, r := range g.Rules {
				if r.RemoteGroup != "" {
					named[r.RemoteGroup] = true
				}
			}
		}
	}
	var out []Set
	for g := range named {
		out = append(out, Set{Name: setName(g), Kind: setKind, Members: slices.Clone(members[g])})
	}
	slices.SortFunc(out, func(a, b Set) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("set name %q derived twice (hash collision)", out[i].Name)
		}
	}
	return out, nil
}

// renderSets prints sets the way `ipset save` does, without the sizes the kernel picks.
func renderSets(b *strings.Builder, sets []Set) {
	for _, s := range sets {
		b.WriteString("create " + s.Name + " " + s.Kind + "\n")
		for _, a := range s.Members {
			b.WriteString("add " + s.Name + " " + a.String() + "\n")
		}
	}
}
