package firewall

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ParseSave extracts cloudlet's chains and jumps from iptables-save output. Tables with no
// cloudlet chain are left out; rules are split on blanks (cloudlet's rules never quote).
func ParseSave(text string) (Ruleset, error) {
	var rs Ruleset
	var cur *Table
	chains := map[string]*Chain{}
	flush := func() {
		if cur != nil && len(chains) > 0 {
			for _, c := range chains {
				cur.Chains = append(cur.Chains, *c)
			}
			sort.Slice(cur.Chains, func(i, j int) bool { return cur.Chains[i].Name < cur.Chains[j].Name })
			sort.SliceStable(cur.Jumps, func(i, j int) bool { return cur.Jumps[i].From < cur.Jumps[j].From })
			*rs.table(cur.Name) = *cur
		}
		cur, chains = nil, map[string]*Chain{}
	}
	for i, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			flush()
			cur = &Table{Name: line[1:]}
		case line == "COMMIT":
			flush()
		case strings.HasPrefix(line, ":"+Prefix):
			name := strings.Fields(line[1:])[0]
			chains[name] = &Chain{Name: name}
		case strings.HasPrefix(line, "-A "):
			if cur == nil {
				return Ruleset{}, fmt.Errorf("iptables-save line %d: rule outside a table", i+1)
			}
			f := strings.Fields(line)
			if len(f) < 2 {
				return Ruleset{}, fmt.Errorf("iptables-save line %d: %q", i+1, line)
			}
			chain, spec := f[1], f[2:]
			if c, ok := chains[chain]; ok {
				c.Rules = append(c.Rules, spec)
			} else if !strings.HasPrefix(chain, Prefix) && ownsRule(spec) {
				j := Jump{From: chain, To: spec[len(spec)-1]}
				if !slices.Equal(spec, []string{"-j", j.To}) {
					j.To = strings.Join(spec, " ") // an odd jump: keep it visible
				}
				cur.Jumps = append(cur.Jumps, j)
			}
		}
	}
	flush()
	return rs, nil
}
