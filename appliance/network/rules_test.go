package network

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"cloudlet/appliance/network/firewall"
	"cloudlet/appliance/network/link"
)

// fakeFirewall records every ruleset applied, rendered as iptables-save text.
type fakeFirewall struct {
	mu      sync.Mutex
	applied []string
	fail    error
}

func (f *fakeFirewall) Apply(_ context.Context, rs firewall.Ruleset) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.applied = append(f.applied, rs.Render())
	return nil
}

func (f *fakeFirewall) last(t *testing.T) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.applied) == 0 {
		t.Fatal("no ruleset was applied")
	}
	return f.applied[len(f.applied)-1]
}

func newFirewalledService(t *testing.T) (*Service, *fakeFirewall) {
	t.Helper()
	s := newService(t)
	fw := &fakeFirewall{}
	s.fw = fw
	return s, fw
}

// TestEveryChangeReappliesTheRulesFromTheCatalog: networks, ports and rules each re-derive the
// whole ruleset; deleting the last network leaves no cloudlet chain at all.
func TestEveryChangeReappliesTheRulesFromTheCatalog(t *testing.T) {
	s, fw := newFirewalledService(t)
	n := must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "web", Subnet: subnet("10.1.2.0/24")}))
	br := link.BridgeName(n.ID)
	if got := fw.last(t); !strings.Contains(got, "-o "+br+" -j DROP") {
		t.Errorf("after the network was made, rules do not isolate its bridge %s:\n%s", br, got)
	}
	p := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "a", Network: "web"}))
	tap := link.TapName(p.ID)
	if got := fw.last(t); !strings.Contains(got, "--physdev-in "+tap) || !strings.Contains(got, p.MAC) {
		t.Errorf("after the port was made, rules have no anti-spoofing for tap %s / %s:\n%s", tap, p.MAC, got)
	}
	before := fw.last(t)
	must1(s.AddRule(ctx, proj, DefaultGroup, Rule{Direction: "ingress", Protocol: "tcp", PortMin: 8080, PortMax: 8080}))
	if got := fw.last(t); !strings.Contains(got, "--dport 8080") || got == before {
		t.Errorf("after a rule was added, rules do not open port 8080:\n%s", got)
	}
	g := must1(s.SecurityGroup(ctx, proj, DefaultGroup))
	must0(t, s.DeleteRule(ctx, proj, g.Rules[len(g.Rules)-1].ID))
	if got := fw.last(t); got != before {
		t.Errorf("after the rule was deleted, rules differ from before it was added:\n%s\nwant:\n%s", got, before)
	}
	must0(t, s.DeletePort(ctx, proj, "a"))
	if got := fw.last(t); strings.Contains(got, tap) {
		t.Errorf("after the port was deleted, rules still name its tap:\n%s", got)
	}
	must0(t, s.DeleteNetwork(ctx, proj, "web"))
	if got := fw.last(t); got != "" {
		t.Errorf("with no network left, want no cloudlet rules at all, got:\n%s", got)
	}
}

// TestPortWithoutPortSecurityHasNoChains: port security off means neither anti-spoofing nor groups.
func TestPortWithoutPortSecurityHasNoChains(t *testing.T) {
	s, fw := newFirewalledService(t)
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lab", Kind: KindIsolated, Subnet: subnet("10.1.3.0/24")}))
	off := false
	p := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "open", Network: "lab", PortSecurity: &off}))
	if got := fw.last(t); strings.Contains(got, link.TapName(p.ID)) {
		t.Errorf("a port without port security got rules:\n%s", got)
	}
}

// TestRulesThatCannotBeAppliedUndoThePort: a port whose rules fail to apply is not left behind.
func TestRulesThatCannotBeAppliedUndoThePort(t *testing.T) {
	s, fw := newFirewalledService(t)
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "web", Subnet: subnet("10.1.2.0/24")}))
	fw.fail = errors.New("iptables: resource busy")
	if _, err := s.CreatePort(ctx, proj, CreatePortRequest{Name: "a", Network: "web"}); err == nil ||
		!strings.Contains(err.Error(), "apply firewall rules") {
		t.Fatalf("CreatePort with a failing firewall: err = %v, want one naming the firewall", err)
	}
	if ps := must1(s.Ports(ctx, proj)); len(ps) != 0 {
		t.Errorf("ports after a failed create: %d, want 0", len(ps))
	}
}

// TestSameCatalogSameRules: deriving the rules again from an unchanged catalog gives the same text.
func TestSameCatalogSameRules(t *testing.T) {
	s, fw := newFirewalledService(t)
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "web", Subnet: subnet("10.1.2.0/24")}))
	must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "x", Network: "web"}))
	first := fw.last(t)
	must0(t, s.syncFirewall(ctx))
	if again := fw.last(t); again != first {
		t.Errorf("re-deriving from the same catalog changed the rules:\n%s\n---\n%s", first, again)
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestUpdatePortChangesItsRulesAtOnce: a port's groups and port security change on the live port.
func TestUpdatePortChangesItsRulesAtOnce(t *testing.T) {
	s, fw := newFirewalledService(t)
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "web", Subnet: subnet("10.1.2.0/24")}))
	p := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "a", Network: "web"}))
	g := must1(s.CreateSecurityGroup(ctx, proj, "ssh", ""))
	must1(s.AddRule(ctx, proj, "ssh", Rule{Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22}))

	ssh := []string{"ssh"}
	got := must1(s.UpdatePort(ctx, proj, "a", UpdatePortRequest{SecurityGroups: &ssh}))
	if len(got.SecurityGroups) != 1 || got.SecurityGroups[0] != g.ID || !strings.Contains(fw.last(t), "--dport 22") {
		t.Errorf("after setting group ssh: groups %v, rules:\n%s", got.SecurityGroups, fw.last(t))
	}
	off := false
	got = must1(s.UpdatePort(ctx, proj, "a", UpdatePortRequest{PortSecurity: &off}))
	if got.PortSecurity || len(got.SecurityGroups) != 0 || strings.Contains(fw.last(t), link.TapName(p.ID)) {
		t.Errorf("after port security off: %+v, rules:\n%s", got, fw.last(t))
	}
	if _, err := s.UpdatePort(ctx, proj, "a", UpdatePortRequest{SecurityGroups: &ssh}); err == nil {
		t.Error("groups on a port without port security were accepted")
	}
	on, none := true, []string{}
	got = must1(s.UpdatePort(ctx, proj, "a", UpdatePortRequest{PortSecurity: &on, SecurityGroups: &none}))
	if !got.PortSecurity || len(got.SecurityGroups) != 0 || !strings.Contains(fw.last(t), link.TapName(p.ID)) {
		t.Errorf("port security on with no group: %+v (want secured, no group: everything dropped)", got)
	}
	nope := []string{"nope"}
	if _, err := s.UpdatePort(ctx, proj, "a", UpdatePortRequest{SecurityGroups: &nope}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown group: err = %v", err)
	}
}
