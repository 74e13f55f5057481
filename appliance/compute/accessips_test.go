package compute

import (
	"context"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// accessIPv4/6 are recorded in canonical form (an address of the wrong family is a 400 naming its
// field), and the creator's user id with them: Nova's fields of a server.
func TestAccessIPsAndTheCreatorAreRecordedAndTheWrongFamilyIsInvalid(t *testing.T) {
	e := newEnv(t, nil)
	for field, r := range map[string]CreateRequest{
		"access_ipv4": {AccessIPv4: "::1"},
		"access_ipv6": {AccessIPv6: "1.1.1.1"},
	} {
		r.ProjectID, r.Name, r.Flavor, r.Image = testProject, "bad", "m1.tiny", "img"
		if _, err := e.svc.Create(context.Background(), r); fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), field) {
			t.Errorf("a bad %s: %v, want invalid naming it", field, err)
		}
	}
	inst, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: "web", Flavor: "m1.tiny",
		Image: "img", UserID: "u1", AccessIPv4: "1.1.1.1", AccessIPv6: "0000:0000:0000:0000:0000:babe:220.12.22.2"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Show(context.Background(), testProject, inst.ID)
	if err != nil || got.AccessIPv4 != "1.1.1.1" || got.AccessIPv6 != "::babe:dc0c:1602" {
		t.Errorf("recorded %q and %q (%v), want 1.1.1.1 and ::babe:dc0c:1602", got.AccessIPv4, got.AccessIPv6, err)
	}
	if got.UserID != "u1" {
		t.Errorf("recorded creator %q, want the request's user u1", got.UserID)
	}
}
