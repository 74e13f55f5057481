package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// Build turns a valid model into cloudlet's ruleset. It is pure and deterministic: the same model,
// in any slice order, gives the same Ruleset.
func Build(m Model) (Ruleset, error) {
	if err := m.Validate(); err != nil {
		return Ruleset{}, err
	}
	m = sortedModel(m)
	var rs Ruleset
	filter := buildFilter(m)
	tables := []Table{filter, buildNAT(m)}
	if raw, ok := buildRaw(m); ok {
		tables = append(tables, raw)
	}
	for _, t := range tables {
		if err := checkNames(t); err != nil {
			return Ruleset{}, err
		}
		*rs.table(t.Name) = t
	}
	rs.Bridge = buildBridge(m)
	secured := securedPorts(m)
	sets, err := buildSets(m, secured, groupMembers(secured))
	if err != nil {
		return Ruleset{}, err
	}
	rs.Sets = sets
	return rs, nil
}

// checkNames refuses hash collisions and over-long names rather than merging two ports' rules.
func checkNames(t Table) error {
	for i, c := range t.Chains {
		if len(c.Name) > 28 || !strings.HasPrefix(c.Name, Prefix) {
			return fmt.Errorf("chain name %q: must start with %s and be at most 28 characters", c.Name, Prefix)
		}
		if i > 0 && t.Chains[i-1].Name == c.Name {
			return fmt.Errorf("chain name %q derived twice (hash collision)", c.Name)
		}
	}
	return nil
}

// sortedModel returns a copy of m with every slice sorted, so Build never depends on input order.
func sortedModel(m Model) Model {
	m.Networks = slices.Clone(m.Networks)
	sort.Slice(m.Networks, func(i, j int) bool { return m.Networks[i].ID < m.Networks[j].ID })
	m.Ports = slices.Clone(m.Ports)
	for i := range m.Ports {
		p := &m.Ports[i]
		p.IPs = slices.Clone(p.IPs)
		slices.SortFunc(p.IPs, netip.Addr.Compare)
		p.IPs = slices.Compact(p.IPs)
		p.SecurityGroups = slices.Clone(p.SecurityGroups)
		slices.Sort(p.SecurityGroups)
		p.SecurityGroups = slices.Compact(p.SecurityGroups)
	}
	sort.Slice(m.Ports, func(i, j int) bool { return m.Ports[i].ID < m.Ports[j].ID })
	m.SecurityGroups = slices.Clone(m.SecurityGroups)
	sort.Slice(m.SecurityGroups, func(i, j int) bool { return m.SecurityGroups[i].ID < m.SecurityGroups[j].ID })
	m.FloatingIPs = slices.Clone(m.FloatingIPs)
	sort.Slice(m.FloatingIPs, func(i, j int) bool { return m.FloatingIPs[i].IP.Less(m.FloatingIPs[j].IP) })
	m.PortForwards = slices.Clone(m.PortForwards)
	sort.Slice(m.PortForwards, func(i, j int) bool {
		a, b := m.PortForwards[i], m.PortForwards[j]
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		if a.HostPort != b.HostPort {
			return a.HostPort < b.HostPort
		}
		return a.HostIP.Less(b.HostIP)
	})
	return m
}

// Small helpers that spell matches the way iptables-save prints them.

func host(a netip.Addr) string { return a.String() + "/32" }

func ctstate(states string) []string { return []string{"-m", "conntrack", "--ctstate", states} }

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func s(args ...string) []string { return args }
