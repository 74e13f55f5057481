package firewall

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// newApplier returns an Applier for this test's private namespace and removes every cloudlet rule
// when the test ends.
func newApplier(t *testing.T) *Applier {
	t.Helper()
	a, err := NewApplier()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Remove(context.Background()); err != nil {
			t.Errorf("cleanup: Remove: %v", err)
		}
	})
	return a
}

func apply(t *testing.T, a *Applier, m Model) string {
	t.Helper()
	rs, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Apply(context.Background(), rs); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	got, err := a.Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rs.Render(), got); diff != "" {
		t.Fatalf("Save() differs from Render() (-want +got):\n%s", diff)
	}
	return got
}

// TestApplyEqualsRender: for every golden model, the live rules read back equal the built ones,
// and applying again leaves iptables-save byte for byte the same.
func TestApplyEqualsRender(t *testing.T) {
	a := newApplier(t)
	for name, m := range goldenModels() {
		t.Run(name, func(t *testing.T) {
			first := apply(t, a, m)
			full1 := iptablesSave(t)
			second := apply(t, a, m)
			if first != second {
				t.Errorf("second Apply changed cloudlet's rules")
			}
			if full2 := iptablesSave(t); full1 != full2 {
				t.Errorf("second Apply changed iptables-save:\n%s", cmp.Diff(full1, full2))
			}
		})
	}
}

func TestApplyChangedModelDropsOldRules(t *testing.T) {
	a := newApplier(t)
	apply(t, a, goldenModels()["port-forwards"])
	m := natDefault()
	m.Ports = m.Ports[1:] // port-a deleted
	got := apply(t, a, m)
	for _, gone := range []string{"clt-a", "8080", chainName("I", "port-a"), "10.88.0.10"} {
		if strings.Contains(iptablesSave(t), gone) {
			t.Errorf("%q still in iptables-save after it left the model:\n%s", gone, got)
		}
	}
}

// TestApplyKeepsForeignRules: rules that are not cloudlet's stay, and the jump goes on top.
func TestApplyKeepsForeignRules(t *testing.T) {
	a := newApplier(t)
	run(t, "iptables", "-A", "FORWARD", "-i", "foreign0", "-j", "ACCEPT")
	t.Cleanup(func() { exec.Command("iptables", "-D", "FORWARD", "-i", "foreign0", "-j", "ACCEPT").Run() })
	apply(t, a, natDefault())
	apply(t, a, natDefault())
	out := run(t, "iptables", "-S", "FORWARD")
	want := "-P FORWARD ACCEPT\n-A FORWARD -j CLOUDLET-FORWARD\n-A FORWARD -i foreign0 -j ACCEPT\n"
	if out != want {
		t.Errorf("iptables -S FORWARD:\n%s\nwant:\n%s", out, want)
	}
}

func TestRemoveLeavesNothing(t *testing.T) {
	a := newApplier(t)
	apply(t, a, goldenModels()["floating-ip"])
	// A stale chain and a second jump, as a crashed older daemon might leave them.
	run(t, "iptables", "-t", "nat", "-N", "CLOUDLET-OLD")
	run(t, "iptables", "-t", "nat", "-A", "POSTROUTING", "-j", "CLOUDLET-OLD")
	if err := a.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out := iptablesSave(t); strings.Contains(out, "CLOUDLET") {
		t.Errorf("cloudlet rules left after Remove:\n%s", out)
	}
	if sets, err := liveSets(); err != nil || len(sets) != 0 {
		t.Errorf("cloudlet sets left after Remove: %v, %v", sets, err)
	}
	if got, err := a.Save(context.Background()); err != nil || got != "" {
		t.Errorf("Save() = %q, %v; want empty", got, err)
	}
}

func iptablesSave(t *testing.T) string {
	t.Helper()
	var keep []string
	for _, l := range strings.Split(run(t, "iptables-save"), "\n") {
		if !strings.HasPrefix(l, "#") { // the timestamps
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestBridgeTableChangesOnlyTheChangedPorts: a port coming and another going add and delete their
// own chains and map elements; the other ports' chains are not made again (their rule handles
// stay), and the live table still reads back as built.
func TestBridgeTableChangesOnlyTheChangedPorts(t *testing.T) {
	a := newApplier(t)
	m := natDefault()
	apply(t, a, m)
	portAChain := func() string {
		return run(t, "nft", "-a", "list", "chain", "bridge", BridgeTable, bridgeChain("port-a"))
	}
	before := portAChain()
	c := portB()
	c.ID, c.Tap, c.MAC, c.IPs = "port-c", "clt-c", mac("52:54:00:aa:00:0c"), addrs("10.88.0.12")
	m.Ports = []Port{m.Ports[0], c} // port-b goes, port-c comes
	got := apply(t, a, m)
	if strings.Contains(got, "clt-b") || !strings.Contains(got, "clt-c") {
		t.Errorf("bridge table after port-b left and port-c came:\n%s", got)
	}
	if after := portAChain(); after != before {
		t.Errorf("port-a's bridge chain was made again:\n%s\nbefore:\n%s", after, before)
	}
}

// TestApplyRepairsRulesChangedBehindItsBack: the Applier diffs against what it applied last only
// while no one else has changed a rule; a chain flushed and a bridge chain deleted by hand are
// back after the next Apply of the same ruleset.
func TestApplyRepairsRulesChangedBehindItsBack(t *testing.T) {
	a := newApplier(t)
	m := natDefault()
	apply(t, a, m)
	run(t, "iptables", "-F", chainName("I", "port-a"))
	run(t, "nft", "flush", "chain", "bridge", BridgeTable, bridgeChain("port-b"))
	apply(t, a, m) // fails unless the live rules equal the built ones again
}
