package e2e

import (
	"slices"
	"strings"
	"testing"
)

// A guest on a NAT network reaches a host "on the internet" (a second namespace with no route back to
// guest subnets), which sees the host's uplink address, not the guest's; a guest on an isolated network
// reaches nothing beyond its network.
func TestGuestReachesTheOutsideThroughNAT(t *testing.T) {
	o := newOuter(t)
	addr, remotes := o.serve(t)
	c := newCloud(t, "")
	for _, n := range []map[string]any{
		{"name": "lan", "subnet": map[string]any{"cidr": "10.62.0.0/24", "dhcp": true}},
		{"name": "lab", "kind": "isolated", "subnet": map[string]any{"cidr": "10.63.0.0/24", "dhcp": true}},
	} {
		if err := c.Do("POST", "/api/v1/networks", n, nil); err != nil {
			t.Fatal(err)
		}
	}
	nat := c.Create("nat", kernelImage, map[string]any{"networks": []string{"lan"}})
	iso := c.Create("iso", kernelImage, map[string]any{"networks": []string{"lab"}})
	c.WaitConsole(nat.ID, ready, 1, bootWait)
	c.WaitConsole(iso.ID, ready, 1, bootWait)

	if body, ok := c.shell(nat.ID, "nat").fetch("http://" + addr + "/"); !ok || body != "outside" {
		t.Errorf("the guest on the NAT network could not reach %s: %q", addr, body)
	}
	if got := remotes(); len(got) == 0 || slices.ContainsFunc(got, func(r string) bool { return r != "203.0.113.1" }) {
		t.Errorf("the outside saw requests from %v, want only the host's uplink address 203.0.113.1", got)
	}
	before := len(remotes())
	if body, ok := c.shell(iso.ID, "iso").fetch("http://" + addr + "/"); ok || strings.Contains(body, "outside") {
		t.Errorf("the guest on the isolated network reached the outside: %q", body)
	}
	if len(remotes()) != before {
		t.Errorf("the outside got a request from the isolated network")
	}
}
