package network

import (
	"net/netip"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

func TestDefaultGroupAndPortsGetIt(t *testing.T) {
	s := newService(t)
	if _, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "n", Subnet: subnet("10.20.0.0/24")}); err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePort(ctx, proj, CreatePortRequest{Network: "n"})
	if err != nil {
		t.Fatal(err)
	}
	def, err := s.SecurityGroup(ctx, proj, DefaultGroup)
	if err != nil || len(p.SecurityGroups) != 1 || p.SecurityGroups[0] != def.ID {
		t.Fatalf("port groups %v, default %+v (%v): want the default group", p.SecurityGroups, def, err)
	}
	if len(def.Rules) != 2 || def.Rules[1].RemoteGroup != def.ID || def.Rules[0].Direction != "egress" {
		t.Errorf("default rules %+v: want all egress and ingress from the group itself", def.Rules)
	}
	off := false
	q, err := s.CreatePort(ctx, proj, CreatePortRequest{Network: "n", PortSecurity: &off})
	if err != nil || len(q.SecurityGroups) != 0 {
		t.Errorf("port without port security: %+v (%v)", q, err)
	}
	if _, err := s.CreatePort(ctx, proj, CreatePortRequest{Network: "n", SecurityGroups: []string{"nope"}}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("unknown group on a port: %v", err)
	}
	if err := s.DeleteSecurityGroup(ctx, proj, DefaultGroup); fault.KindOf(err) != fault.Conflict {
		t.Errorf("delete the default group: %v", err)
	}
}

func TestRulesAreValidatedAsTheFirewallWillSeeThem(t *testing.T) {
	s := newService(t)
	if _, err := s.CreateSecurityGroup(ctx, proj, "web", "http from anywhere"); err != nil {
		t.Fatal(err)
	}
	g, err := s.AddRule(ctx, proj, "web", Rule{Direction: "ingress", Protocol: "tcp", PortMin: 80, PortMax: 80,
		RemoteCIDR: netip.MustParsePrefix("0.0.0.0/0")})
	if err != nil || len(g.Rules) != 1 {
		t.Fatalf("add rule: %+v (%v)", g, err)
	}
	if _, err := s.AddRule(ctx, proj, "web", Rule{Direction: "ingress", Protocol: "icmp", RemoteGroup: "default"}); err != nil {
		t.Errorf("icmp from the default group: %v", err)
	}
	for _, c := range []struct {
		name string
		r    Rule
		want string
	}{
		{"port out of range", Rule{Direction: "ingress", Protocol: "tcp", PortMin: 1, PortMax: 70000}, "70000"},
		{"bad protocol", Rule{Direction: "ingress", Protocol: "gre"}, "gre"},
		{"bad direction", Rule{Direction: "sideways", Protocol: "tcp"}, "sideways"},
		{"min above max", Rule{Direction: "ingress", Protocol: "udp", PortMin: 90, PortMax: 80}, "80"},
		{"icmp with ports", Rule{Direction: "ingress", Protocol: "icmp", PortMin: 1, PortMax: 2}, "icmp"},
		{"unknown remote group", Rule{Direction: "ingress", Protocol: "tcp", RemoteGroup: "nope"}, "nope"},
	} {
		_, err := s.AddRule(ctx, proj, "web", c.r)
		if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want invalid naming %q", c.name, err, c.want)
		}
	}
	if err := s.DeleteSecurityGroup(ctx, proj, "default"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("delete a group other rules refer to: %v", err)
	}
	if err := s.DeleteRule(ctx, proj, g.Rules[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSecurityGroup(ctx, proj, "web"); err != nil {
		t.Errorf("delete an unused group: %v", err)
	}
}
