package network

import (
	"testing"

	"cloudlet/appliance/fault"
)

func TestUpdateSecurityGroupRenamesAndRedescribesButKeepsDefault(t *testing.T) {
	s := newService(t)
	g := must1(s.CreateSecurityGroup(ctx, proj, "g1", "old"))
	name, desc := "web", "http in"
	got := must1(s.UpdateSecurityGroup(ctx, proj, g.ID, UpdateSecurityGroupRequest{Name: &name, Description: &desc}))
	if got.Name != "web" || got.Description != "http in" || got.ID != g.ID {
		t.Errorf("group %+v: want web, 'http in', same id", got)
	}
	if _, err := s.SecurityGroup(ctx, proj, "g1"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("old name still found: %v", err)
	}
	_, err := s.UpdateSecurityGroup(ctx, proj, DefaultGroup, UpdateSecurityGroupRequest{Name: &name})
	wantFault(t, "renaming default", err, fault.Conflict, "default")
	_, err = s.UpdateSecurityGroup(ctx, "p2", g.ID, UpdateSecurityGroupRequest{Name: &name})
	wantFault(t, "another project's group", err, fault.NotFound)
}

func TestUpdatePortRenamesIt(t *testing.T) {
	s := newService(t)
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lan", Subnet: subnet("10.1.0.0/24")}))
	p := must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "p1", Network: "lan"}))
	name := "p2"
	if got := must1(s.UpdatePort(ctx, proj, p.ID, UpdatePortRequest{Name: &name})); got.Name != "p2" || len(got.SecurityGroups) != 1 {
		t.Errorf("port %+v: want renamed p2 keeping its default group", got)
	}
	bad := "no/slash"
	_, err := s.UpdatePort(ctx, proj, p.ID, UpdatePortRequest{Name: &bad})
	wantFault(t, "a bad name", err, fault.Invalid, "name")
}
