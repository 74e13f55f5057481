package browser

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/network"

	"github.com/chromedp/chromedp"
)

// TestSecurityGroupRuleEditor: a member creates a security group on the Security groups tab and
// adds a rule in its editor; an invalid remote CIDR is refused with the API's message next to the
// CIDR field (and the form keeps what was typed), a valid one lands in the rules table.
func TestSecurityGroupRuleEditor(t *testing.T) {
	s := newSite(t)
	tb := s.open(t, "member")
	tb.goTo("/security-groups")
	tb.run(chromedp.WaitVisible(chromedp.CSS("#group-create")),
		chromedp.SetValue(chromedp.CSS("#gc-name"), "web"),
		chromedp.Click(chromedp.CSS(`#group-create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#security-groups a[href^="/security-groups/"]`)))
	var g network.SecurityGroup
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.as("member").Do(ctx, "GET", "/api/v1/security-groups/web", nil, &g); err != nil {
		t.Fatal(err)
	}
	tb.run(chromedp.Click(chromedp.CSS(`#g-`+g.ID+` a[href="/security-groups/`+g.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#rule-add")),
		chromedp.SetValue(chromedp.CSS("#ra-port-min"), "22"),
		chromedp.SetValue(chromedp.CSS("#ra-cidr"), "10.0.0.300/8"),
		chromedp.Click(chromedp.CSS(`#rule-add button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ra-cidr[aria-invalid="true"][aria-describedby="ra-cidr-err"] + #ra-cidr-err`)))
	if msg := eval[string](tb, `document.querySelector("#ra-cidr-err").textContent`); !strings.Contains(msg, "10.0.0.300/8") {
		t.Errorf("the CIDR field's error says %q, want the API's message about 10.0.0.300/8", msg)
	}
	if port := eval[string](tb, `document.querySelector("#ra-port-min").value`); port != "22" {
		t.Errorf("the refused form kept port %q, want 22", port)
	}
	tb.shot("security-group-invalid-cidr")
	tb.run(chromedp.SetValue(chromedp.CSS("#ra-cidr"), "192.0.2.0/24"),
		chromedp.Click(chromedp.CSS(`#rule-add button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#rules tbody tr[id^="r-"]`)))
	if row := eval[string](tb, `document.querySelector('#rules tbody tr[id^="r-"]').textContent`); !strings.Contains(row, "192.0.2.0/24") || !strings.Contains(row, "22") {
		t.Errorf("the new rule's row is %q, want tcp 22 from 192.0.2.0/24", row)
	}
	if eval[bool](tb, `document.querySelector("#ra-cidr-err") !== null`) {
		t.Error("the CIDR field still shows an error after a valid rule was added")
	}
	tb.shot("security-group-rules")
}

// TestPortForwardCreatedAndListed: a member forwards a host port to a port of theirs on the Port
// forwards tab and sees it listed, with the port's address; deleting it asks first, then it is gone.
func TestPortForwardCreatedAndListed(t *testing.T) {
	s := newSite(t)
	c := s.as("member")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var port network.Port
	err := c.Do(ctx, "POST", "/api/v1/networks", map[string]any{"name": "lan", "kind": "isolated",
		"subnet": map[string]any{"cidr": "10.77.0.0/24"}}, nil)
	if err == nil {
		err = c.Do(ctx, "POST", "/api/v1/ports", map[string]any{"name": "web", "network": "lan"}, &port)
	}
	if err != nil {
		t.Fatal(err)
	}
	tb := s.open(t, "member")
	tb.goTo("/port-forwards")
	tb.run(chromedp.WaitVisible(chromedp.CSS("#port-forward-create")),
		chromedp.SetValue(chromedp.CSS("#pfc-host-port"), "20080"),
		chromedp.SetValue(chromedp.CSS("#pfc-port"), port.ID),
		chromedp.SetValue(chromedp.CSS("#pfc-internal-port"), "80"),
		chromedp.Click(chromedp.CSS(`#port-forward-create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#port-forwards tbody tr[id^="pf-"]`)))
	row := eval[string](tb, `document.querySelector('#port-forwards tbody tr[id^="pf-"]').textContent`)
	for _, want := range []string{"tcp", "20080", "web (" + port.FixedIPs[0].String() + ")", "80"} {
		if !strings.Contains(row, want) {
			t.Errorf("the forward's row is %q, want %q in it", row, want)
		}
	}
	tb.shot("port-forwards")
	tb.run(chromedp.Click(chromedp.CSS(`#port-forwards details.confirm summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#port-forwards details.confirm[open] button[type=submit]`)),
		chromedp.Click(chromedp.CSS(`#port-forwards details.confirm[open] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#port-forwards td.empty`)))
}

// TestVolumeAndNetworkPagesPassAxeAndFitAPhone: every volumes and network page, with a row of each
// kind in it, has no serious or critical axe-core violation and does not scroll sideways at 390 px
// (tables scroll in their frame); screenshots of both widths go to artifacts/ui.
func TestVolumeAndNetworkPagesPassAxeAndFitAPhone(t *testing.T) {
	s := newSite(t)
	c := s.as("member")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var group network.SecurityGroup
	var vol struct{ ID string }
	for _, call := range []struct {
		path string
		in   any
		out  any
	}{
		{"/api/v1/networks", map[string]any{"name": "lan", "kind": "isolated", "subnet": map[string]any{"cidr": "10.78.0.0/24"}}, nil},
		{"/api/v1/ports", map[string]any{"name": "web", "network": "lan"}, nil},
		{"/api/v1/security-groups", map[string]any{"name": "web"}, &group},
		{"/api/v1/security-groups/web/rules", map[string]any{"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}, nil},
		{"/api/v1/port-forwards", map[string]any{"port": "web", "protocol": "tcp", "host_port": 20022, "internal_port": 22}, nil},
		{"/api/v1/volumes", map[string]any{"name": "data", "size_gib": 1}, &vol},
		{"/api/v1/volumes/data/snapshots", map[string]any{"name": "s1"}, nil},
	} {
		if err := c.Do(ctx, "POST", call.path, call.in, call.out); err != nil {
			t.Fatalf("POST %s: %v", call.path, err)
		}
	}
	pages := []string{"/volumes", "/volumes/" + vol.ID, "/snapshots", "/networks", "/ports", "/security-groups",
		"/security-groups/" + group.ID, "/floating-ips", "/port-forwards"}
	tb := s.open(t, "member")
	for _, width := range []int64{1280, 390} {
		tb.run(chromedp.EmulateViewport(width, 844))
		for _, p := range pages {
			tb.goTo(p)
			tb.run(chromedp.WaitVisible(chromedp.CSS("main h1")))
			if w := eval[int64](tb, `document.documentElement.scrollWidth`); w > width {
				t.Errorf("%s is %d px wide on a %d px screen: %s", p, w, width, eval[string](tb, overflowing))
			}
			if width == 1280 {
				for _, v := range tb.axeViolations() {
					t.Errorf("axe on %s: %s", p, v)
				}
			}
			name := strings.NewReplacer(vol.ID, "detail", group.ID, "detail").Replace(strings.ReplaceAll(strings.Trim(p, "/"), "/", "-"))
			if width < 1280 {
				name += "-phone"
			}
			tb.shot(name)
		}
	}
}
