package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// Keystone's project reads answer what /api/v1 lets the caller read: an admin reads any project by
// id and lists them filtered by name; a member reads its own project, gets 404 for another's and
// 403 for the list (on which the openstack CLI takes the value it was given as the id); a name in
// place of an id is 404.
func TestKeystoneProjectReadsFollowTheAPIsPolicy(t *testing.T) {
	f := newAuthFixture(t)
	pa, err := f.ids.Resolve(context.Background(), f.tokens["member"])
	if err != nil {
		t.Fatal(err)
	}
	pb, err := f.ids.Resolve(context.Background(), f.tokens["memberb"])
	if err != nil {
		t.Fatal(err)
	}
	admin, member := f.tokens["admin"], f.tokens["member"]
	if rec := f.osDo("GET", "/identity/v3/projects/"+pb.ProjectID, admin, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"pb"`) {
		t.Errorf("admin shows pb = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/identity/v3/projects/pb", admin, ""); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"error":{"code":404`) {
		t.Errorf("a project by name = %d %s, want Keystone's 404", rec.Code, rec.Body)
	}
	var list struct{ Projects []struct{ ID, Name string } }
	decodeInto(t, f.osDo("GET", "/identity/v3/projects?name=pb", admin, ""), &list)
	if len(list.Projects) != 1 || list.Projects[0].ID != pb.ProjectID {
		t.Errorf("projects?name=pb = %+v, want pb only", list.Projects)
	}
	if rec := f.osDo("GET", "/identity/v3/projects/"+pa.ProjectID, member, ""); rec.Code != 200 {
		t.Errorf("a member shows its project = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/identity/v3/projects/"+pb.ProjectID, member, ""); rec.Code != http.StatusNotFound {
		t.Errorf("a member shows another project = %d %s, want 404", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/identity/v3/projects", member, ""); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"error":{"code":403`) {
		t.Errorf("a member lists projects = %d %s, want Keystone's 403", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/identity/v3/projects", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("projects without a token = %d, want 401", rec.Code)
	}
}
