package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/network"
	"cloudlet/appliance/network/firewall"
	"cloudlet/appliance/network/link"
)

// The firewall follows the catalog: a port's chains appear with it; after a kill -9 and a restart the
// daemon rebuilds cloudlet's chains byte-identical (even when someone flushed one meanwhile); deleting
// every port and network leaves no cloudlet chain or jump, no tap and no bridge.
func TestFirewallRulesFollowTheCatalog(t *testing.T) {
	c := newCloud(t, "")
	if rules := cloudletRules(t); !strings.Contains(rules, ":CLOUDLET-FORWARD") {
		t.Fatalf("no CLOUDLET-FORWARD chain with the default network up:\n%s", rules)
	}
	var n network.Network
	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "n1", "subnet": map[string]any{"cidr": "10.78.0.0/24"}}, &n); err != nil {
		t.Fatal(err)
	}
	var p network.Port
	if err := c.Do("POST", "/api/v1/ports", map[string]any{"name": "web", "network": "n1"}, &p); err != nil {
		t.Fatal(err)
	}
	tap := link.TapName(p.ID)
	before := cloudletRules(t)
	for _, want := range []string{"--physdev-in " + tap, "--mac-source " + p.MAC, "-s " + p.FixedIPs[0].String() + "/32 -j RETURN",
		link.BridgeName(n.ID), `"` + tap + `" : jump port-`, "arp saddr ip != { 0.0.0.0, " + p.FixedIPs[0].String() + " } drop"} {
		if !strings.Contains(before, want) {
			t.Errorf("rules have no %q for port web:\n%s", want, before)
		}
	}

	c.D.Kill()
	iptables(t, "-F", "CLOUDLET-FORWARD") // what an admin's stray command could do while cloudlet is down
	c.D.Start(t)
	c.D.WaitReady(t)
	if after := cloudletRules(t); after != before {
		t.Errorf("rules after a restart differ:\n%s\nbefore:\n%s", after, before)
	}

	for _, del := range []string{"/api/v1/ports/web", "/api/v1/networks/n1", "/api/v1/networks/default"} {
		if err := c.Do("DELETE", del, nil, nil); err != nil {
			t.Fatalf("DELETE %s: %v", del, err)
		}
	}
	out, err := exec.Command("iptables-save").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v: %s", err, out)
	}
	if strings.Contains(string(out), "CLOUDLET") {
		t.Errorf("cloudlet rules left after every network was deleted:\n%s", out)
	}
	if rules := cloudletRules(t); rules != "" { // includes nftables' bridge table
		t.Errorf("cloudlet rules left after every network was deleted:\n%s", rules)
	}
	for _, prefix := range []string{link.TapPrefix, link.BridgePrefix} {
		if names, err := link.List(prefix); err != nil || len(names) > 0 {
			t.Errorf("links %q left after every network was deleted (%v)", names, err)
		}
	}
}

// cloudletRules returns cloudlet's chains and jumps as iptables-save shows them (counters dropped).
func cloudletRules(t *testing.T) string {
	t.Helper()
	a, err := firewall.NewApplier()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	text, err := a.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func iptables(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
		t.Fatalf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
	}
}
