package firewall

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// builtins are the built-in chains of each table cloudlet may hook; Apply and Remove look for
// stale jumps in all of them.
var builtins = map[string][]string{
	"filter": {"FORWARD", "INPUT", "OUTPUT"},
	"mangle": {"FORWARD", "INPUT", "OUTPUT", "POSTROUTING", "PREROUTING"},
	"nat":    {"INPUT", "OUTPUT", "POSTROUTING", "PREROUTING"},
	"raw":    {"OUTPUT", "PREROUTING"},
}

// tableNames lists the tables in a fixed order.
var tableNames = []string{"filter", "mangle", "nat", "raw"}

// Applier makes the kernel's IPv4 rules match a Ruleset: sets through ipset's netlink interface,
// chains in one iptables-restore transaction per table, jumps through the iptables command.
// It is not safe for concurrent use; the network service serialises its calls.
//
// Reading the live rules back costs more than a port's change (iptables-save and nft list print
// every rule), so the Applier remembers what its last successful Apply left, and nf_tables'
// generation then, and diffs against that memory while the generation has not moved (no one else
// changed any rule since); otherwise it reads the kernel. With iptables-legacy, whose changes the
// generation does not count, and on Remove, it always reads the kernel. Sets are always compared
// with the kernel's (a netlink dump is cheap).
type Applier struct {
	ipt    *iptables.IPTables
	legacy bool     // iptables is not the nf_tables backend
	last   *Ruleset // what the last successful Apply left; nil = unknown, read the kernel
	gen    uint32   // nf_tables' generation at the end of that Apply
}

// NewApplier finds iptables (IPv4) and waits up to 10 s for its lock on each call.
func NewApplier() (*Applier, error) {
	ipt, err := iptables.New(iptables.IPFamily(iptables.ProtocolIPv4), iptables.Timeout(10))
	if err != nil {
		return nil, fmt.Errorf("iptables.New: %w", err)
	}
	version, err := command(context.Background(), "", "iptables", "--version")
	if err != nil {
		return nil, err
	}
	return &Applier{ipt: ipt, legacy: !strings.Contains(version, "nf_tables")}, nil
}

// Apply makes cloudlet's live sets, chains and jumps equal to rs: it creates missing sets and
// corrects their members, rewrites only the chains that are missing or whose rules differ and
// deletes stale CLOUDLET chains (in one transaction per table), puts the one jump per built-in
// chain at its top and deletes stale jumps, then destroys the sets no rule names any more; last
// it updates the bridge table, in one nft transaction, when it differs. Applying the same ruleset
// twice changes nothing the second time; a change of a group's members alone touches only its set.
func (a *Applier) Apply(ctx context.Context, rs Ruleset) error {
	live, known := Ruleset{}, a.remembered()
	if known {
		live = *a.last
	}
	a.last = nil // unknown until this Apply succeeds
	if !known {
		var err error
		if live, err = readLive(ctx); err != nil {
			return err
		}
	}
	if err := syncSets(rs.Sets); err != nil {
		return err
	}
	for _, name := range tableNames {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := a.syncTable(ctx, rs.lookup(name), live.lookup(name), known); err != nil {
			return err
		}
	}
	if err := removeStaleSets(rs.Sets); err != nil {
		return err
	}
	if err := applyBridge(ctx, live.Bridge, rs.Bridge); err != nil {
		return err
	}
	if gen, err := generation(); err == nil && !a.legacy {
		a.last, a.gen = &rs, gen
	}
	return nil
}

// remembered reports whether what the last Apply left is still what the kernel has: nothing has
// changed nf_tables' generation since.
func (a *Applier) remembered() bool {
	if a.last == nil {
		return false
	}
	gen, err := generation()
	return err == nil && gen == a.gen
}

// Remove deletes every cloudlet jump, chain and set in every table, whatever the Applier
// remembers: it reads the kernel.
func (a *Applier) Remove(ctx context.Context) error {
	a.last = nil
	return a.Apply(ctx, Ruleset{})
}

// readLive reads cloudlet's chains, jumps and bridge table from the kernel.
func readLive(ctx context.Context) (Ruleset, error) {
	live, err := saveRules(ctx)
	if err != nil {
		return Ruleset{}, err
	}
	live.Bridge, err = listBridge(ctx)
	return live, err
}

// syncTable makes table want's chains and jumps live. When the jumps are known to be in place, one
// iptables-restore does everything; otherwise the jumps are checked in the built-in chains, and
// stale chains go after the jumps into them.
func (a *Applier) syncTable(ctx context.Context, want, live Table, known bool) error {
	wanted := map[string]bool{}
	for _, c := range want.Chains {
		wanted[c.Name] = true
	}
	var stale []string
	for _, c := range live.Chains {
		if !wanted[c.Name] {
			stale = append(stale, c.Name)
		}
	}
	jumpsInPlace := known && slices.Equal(want.Jumps, live.Jumps)
	if jumpsInPlace {
		return restoreChains(ctx, want, live, stale, stale)
	}
	if err := restoreChains(ctx, want, live, stale, nil); err != nil {
		return err
	}
	if err := a.syncJumps(want); err != nil {
		return err
	}
	return a.deleteStaleChains(want)
}

// restoreChains rewrites, in one iptables-restore transaction, the chains of want that live lacks
// or whose rules differ, flushes the chains in flush and deletes those in del. With --noflush,
// declaring a chain creates or flushes it, and the rest of the table stays as it is.
func restoreChains(ctx context.Context, want, live Table, flush, del []string) error {
	liveRules := map[string][][]string{}
	for _, c := range live.Chains {
		liveRules[c.Name] = c.Rules
	}
	var decl, rules strings.Builder
	for _, c := range want.Chains {
		if l, ok := liveRules[c.Name]; ok && slices.EqualFunc(l, c.Rules, slices.Equal) {
			continue
		}
		decl.WriteString(":" + c.Name + " - [0:0]\n")
		for _, r := range c.Rules {
			rules.WriteString("-A " + c.Name + " " + strings.Join(r, " ") + "\n")
		}
	}
	for _, c := range flush {
		decl.WriteString("-F " + c + "\n")
	}
	for _, c := range del {
		rules.WriteString("-X " + c + "\n")
	}
	if decl.Len() == 0 && rules.Len() == 0 {
		return nil
	}
	script := "*" + want.Name + "\n" + decl.String() + rules.String() + "COMMIT\n"
	if _, err := command(ctx, script, "iptables-restore", "--noflush", "--wait=10"); err != nil {
		return fmt.Errorf("rewrite table %s's chains: %w", want.Name, err)
	}
	return nil
}

// syncJumps leaves exactly the wanted jump, first, in each built-in chain, and no other jump into
// a CLOUDLET chain.
func (a *Applier) syncJumps(t Table) error {
	for _, from := range builtins[t.Name] {
		wanted := ""
		for _, j := range t.Jumps {
			if j.From == from {
				wanted = j.To
			}
		}
		rules, err := a.ipt.List(t.Name, from)
		if err != nil {
			return fmt.Errorf("iptables -t %s -S %s: %w", t.Name, from, err)
		}
		first := true
		for _, r := range rules {
			f := strings.Fields(r)
			if len(f) < 2 || f[0] != "-A" {
				continue
			}
			spec := f[2:]
			keep := first && wanted != "" && slices.Equal(spec, []string{"-j", wanted})
			first = false
			if !ownsRule(spec) || keep {
				continue
			}
			if err := a.ipt.Delete(t.Name, from, spec...); err != nil {
				return fmt.Errorf("iptables -t %s -D %s %s: %w", t.Name, from, strings.Join(spec, " "), err)
			}
		}
		if wanted == "" {
			continue
		}
		if len(rules) > 1 && strings.Join(strings.Fields(rules[1])[2:], " ") == "-j "+wanted {
			continue // already first
		}
		if err := a.ipt.Insert(t.Name, from, 1, "-j", wanted); err != nil {
			return fmt.Errorf("iptables -t %s -I %s 1 -j %s: %w", t.Name, from, wanted, err)
		}
	}
	return nil
}

// ownsRule reports whether a built-in chain's rule jumps into a cloudlet chain.
func ownsRule(spec []string) bool {
	for i := 0; i+1 < len(spec); i++ {
		if (spec[i] == "-j" || spec[i] == "-g") && strings.HasPrefix(spec[i+1], Prefix) {
			return true
		}
	}
	return false
}

// deleteStaleChains flushes, then deletes, every CLOUDLET chain of the table that t does not have
// (flushing all first drops references between stale chains).
func (a *Applier) deleteStaleChains(t Table) error {
	live, err := a.ipt.ListChains(t.Name)
	if err != nil {
		return fmt.Errorf("iptables -t %s -S: %w", t.Name, err)
	}
	var stale []string
	for _, c := range live {
		if strings.HasPrefix(c, Prefix) && !slices.ContainsFunc(t.Chains, func(w Chain) bool { return w.Name == c }) {
			stale = append(stale, c)
		}
	}
	for _, c := range stale {
		if err := a.ipt.ClearChain(t.Name, c); err != nil {
			return fmt.Errorf("iptables -t %s -F %s: %w", t.Name, c, err)
		}
	}
	for _, c := range stale {
		if err := a.ipt.DeleteChain(t.Name, c); err != nil {
			return fmt.Errorf("iptables -t %s -X %s: %w", t.Name, c, err)
		}
	}
	return nil
}

// Save returns cloudlet's part of the live rules (its sets, its chains and the jumps into them)
// in the form Render prints, so it can be compared with a built Ruleset.
func (a *Applier) Save(ctx context.Context) (string, error) {
	rs, err := saveRules(ctx)
	if err != nil {
		return "", err
	}
	if rs.Sets, err = liveSets(); err != nil {
		return "", err
	}
	if rs.Bridge, err = listBridge(ctx); err != nil {
		return "", err
	}
	return rs.Render(), nil
}

// saveRules reads cloudlet's chains and jumps from iptables-save.
func saveRules(ctx context.Context) (Ruleset, error) {
	out, err := command(ctx, "", "iptables-save")
	if err != nil {
		return Ruleset{}, err
	}
	return ParseSave(out)
}

// command runs name with args and stdin, and returns its standard output.
func command(ctx context.Context, stdin, name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}
