package firewall

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// Prefix starts the name of every chain cloudlet owns.
const Prefix = "CLOUDLET"

// Top-level chains, one per hooked built-in chain.
const (
	chainInput       = Prefix + "-INPUT"
	chainForward     = Prefix + "-FORWARD"
	chainPrerouting  = Prefix + "-PREROUTING"
	chainOutput      = Prefix + "-OUTPUT"
	chainPostrouting = Prefix + "-POSTROUTING"
)

// Ruleset is cloudlet's part of the kernel's rules: the sets its rules match, then per table, its
// chains and the jumps into them.
type Ruleset struct {
	Sets   []Set   // sorted by name
	Tables []Table // sorted by name
	Bridge string  // the nftables bridge table (BridgeTable) as nft lists it; "" = none
}

// Table is one iptables table.
type Table struct {
	Name   string
	Jumps  []Jump  // one per built-in chain, sorted by From
	Chains []Chain // sorted by name
}

// Jump is the single rule `-A From -j To` at the top of built-in chain From.
type Jump struct{ From, To string }

// Chain is one of cloudlet's chains and its rules in order; each rule is a rulespec as the
// iptables command takes it (without -A CHAIN), written the way iptables-save prints it.
type Chain struct {
	Name  string
	Rules [][]string
}

// table returns the table named name, adding it if missing.
func (rs *Ruleset) table(name string) *Table {
	for i := range rs.Tables {
		if rs.Tables[i].Name == name {
			return &rs.Tables[i]
		}
	}
	rs.Tables = append(rs.Tables, Table{Name: name})
	sort.Slice(rs.Tables, func(i, j int) bool { return rs.Tables[i].Name < rs.Tables[j].Name })
	return rs.table(name)
}

// lookup returns the table named name, or an empty one by that name.
func (rs Ruleset) lookup(name string) Table {
	for _, t := range rs.Tables {
		if t.Name == name {
			return t
		}
	}
	return Table{Name: name}
}

// chainName derives a short, stable chain name from kind ("I", "O", "S") and an ID.
func chainName(kind, id string) string {
	sum := sha256.Sum256([]byte(id))
	return Prefix + "-" + kind + "-" + hex.EncodeToString(sum[:5]) // 21 chars, under iptables' 28
}

// chainBuilder collects chains in the order they are first used.
type chainBuilder struct {
	chains map[string]*Chain
}

func (b *chainBuilder) add(chain string, rule ...string) {
	c := b.ensure(chain)
	c.Rules = append(c.Rules, rule)
}

func (b *chainBuilder) ensure(chain string) *Chain {
	if b.chains == nil {
		b.chains = map[string]*Chain{}
	}
	c, ok := b.chains[chain]
	if !ok {
		c = &Chain{Name: chain}
		b.chains[chain] = c
	}
	return c
}

// sorted returns the chains sorted by name.
func (b *chainBuilder) sorted() []Chain {
	var out []Chain
	for _, c := range b.chains {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Render prints the ruleset: the sets as `ipset save` prints them; then, in iptables-save syntax,
// per table, the chain declarations, the jumps from built-in chains, then each chain's rules
// (counters always [0:0]); then the bridge table as nft lists it.
func (rs Ruleset) Render() string {
	var b strings.Builder
	renderSets(&b, rs.Sets)
	for _, t := range rs.Tables {
		b.WriteString("*" + t.Name + "\n")
		for _, c := range t.Chains {
			b.WriteString(":" + c.Name + " - [0:0]\n")
		}
		for _, j := range t.Jumps {
			b.WriteString("-A " + j.From + " -j " + j.To + "\n")
		}
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				b.WriteString("-A " + c.Name + " " + strings.Join(r, " ") + "\n")
			}
		}
		b.WriteString("COMMIT\n")
	}
	b.WriteString(rs.Bridge)
	return b.String()
}
