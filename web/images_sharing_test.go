package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/identity"
	"cloudlet/images"
)

// newSharingFixture is newAuthFixture with an image service that resolves image members through
// the identity service, as appliance wires it: projects pa and pb, users member and reader (pa),
// memberb (pb), and admin.
func newSharingFixture(t *testing.T) *authFixture {
	t.Helper()
	db, comp, _, vols, nets := testServicesDB(t)
	clock := &authClock{t: time.Now()}
	ids, adminPW := testIdentity(t, db, clock.Now)
	adminProject, err := ids.AdminProjectID()
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := images.New(db, images.Options{Dir: filepath.Join(t.TempDir(), "images"),
		ResolveProject: func(ctx context.Context, ref string) (string, error) {
			p, err := ids.Project(ctx, ref)
			return p.ID, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imgs.Close() })
	srv, err := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Host: testHostService(),
		Backup: func(w io.Writer) (int64, error) { return 0, nil }, Events: catalogEvents(db),
		Compute: comp, Images: imgs, Volumes: vols, Networks: nets,
		Identity: ids, DefaultProject: adminProject, LoopbackNeedsToken: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &authFixture{t: t, srv: srv, db: db, ids: ids, clock: clock, adminPassword: adminPW, tokens: map[string]string{}}
	ctx := context.Background()
	for _, p := range []string{"pa", "pb"} {
		if _, err := ids.CreateProject(ctx, p, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct{ name, project, role string }{
		{"member", "pa", identity.RoleMember}, {"reader", "pa", identity.RoleReader}, {"memberb", "pb", identity.RoleMember},
	} {
		if _, err := ids.CreateUser(ctx, identity.UserSpec{Name: u.name, Password: testUserPassword, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := ids.Assign(ctx, u.name, u.project, u.role); err != nil {
			t.Fatal(err)
		}
		f.tokens[u.name] = f.login(u.name, testUserPassword, u.project)
	}
	f.tokens["admin"] = f.login("admin", adminPW, "admin")
	return f
}

// projectID is the ID of a project of the fixture.
func (f *authFixture) projectID(name string) string {
	f.t.Helper()
	p, err := f.ids.Project(context.Background(), name)
	if err != nil {
		f.t.Fatal(err)
	}
	return p.ID
}

// imageID creates an image as token's user and returns its ID.
func (f *authFixture) imageID(token, body string) string {
	f.t.Helper()
	rec := f.do("POST", "/api/v1/images", token, body)
	var img images.Image
	if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &img) != nil {
		f.t.Fatalf("POST /api/v1/images %s = %d %s", body, rec.Code, rec.Body)
	}
	return img.ID
}

// Finding 6: a member could publish a public image, which then sat in every project's list and name
// lookups. Public visibility is admin-only (image:publicize) wherever a body asks for it; members
// keep private and shared.
func TestProbe06MemberCannotPublishAnImage(t *testing.T) {
	f := newSharingFixture(t)
	member, admin := f.tokens["member"], f.tokens["admin"]
	for path, body := range map[string]string{
		"/api/v1/images":        `{"name":"debian12","disk_format":"raw","visibility":"public"}`,
		"/api/v1/images/import": `{"name":"debian12","disk_format":"raw","visibility":"public","url":"http://images.example/d.raw"}`,
	} {
		expect(t, f.do("POST", path, member, body), 403, "image:publicize is not allowed")
	}
	rec := f.do("POST", "/api/v1/images/import-file", admin, `{"name":"x","path":"/nonexistent","disk_format":"raw","visibility":"public"}`)
	if rec.Code == 403 {
		t.Errorf("admin public file import = %d %s, want no 403", rec.Code, rec.Body)
	}
	expect(t, f.do("POST", "/api/v1/images", member, `{"name":"mine","disk_format":"raw","visibility":"shared"}`), 201, `"visibility":"shared"`)
	expect(t, f.do("POST", "/api/v1/images", admin, `{"name":"debian12","disk_format":"raw","visibility":"public"}`), 201, `"visibility":"public"`)
	expect(t, f.do("GET", "/api/v1/images", f.tokens["memberb"], ""), 200, `"name":"debian12"`)
}

// Finding 6: another project's image of the same name made lookups answer 409. A name resolves to
// the caller's own image first, then a share it accepted, then a public one.
func TestProbe06SameNamedImagesOfOtherProjectsDoNotConflict(t *testing.T) {
	f := newSharingFixture(t)
	public := f.imageID(f.tokens["admin"], `{"name":"debian12","disk_format":"raw","visibility":"public"}`)
	own := f.imageID(f.tokens["member"], `{"name":"debian12","disk_format":"raw"}`)
	f.imageID(f.tokens["memberb"], `{"name":"debian12","disk_format":"raw"}`)
	expect(t, f.do("GET", "/api/v1/images/debian12", f.tokens["member"], ""), 200, `"id":"`+own+`"`)
	expect(t, f.do("GET", "/api/v1/images/debian12", f.tokens["reader"], ""), 200, `"id":"`+own+`"`)
	expect(t, f.do("DELETE", "/api/v1/images/debian12", f.tokens["member"], ""), 204, "")
	expect(t, f.do("GET", "/api/v1/images/debian12", f.tokens["member"], ""), 200, `"id":"`+public+`"`)
}

// Finding 13, over the API: members are resolved (unknown → 404), a recipient sees only its own
// membership, accepts or rejects with PUT .../members/{project}, and sees a share in its list only
// once accepted.
func TestProbe13ImageMembersOverTheAPI(t *testing.T) {
	f := newSharingFixture(t)
	owner, member, reader := f.tokens["memberb"], f.tokens["member"], f.tokens["reader"]
	pa, admin := f.projectID("pa"), f.projectID("admin")
	id := f.imageID(owner, `{"name":"golden","disk_format":"raw"}`)
	members := "/api/v1/images/" + id + "/members"

	expect(t, f.do("POST", members, owner, `{"project":"nonexistproj"}`), 404, `project \"nonexistproj\" not found`)
	expect(t, f.do("POST", members, owner, `{"project":"pa"}`), 200, `"members":[{"project_id":"`+pa+`","status":"pending"}]`)
	expect(t, f.do("POST", members, owner, `{"project":"`+admin+`"}`), 200, `"status":"pending"`)

	listed := func(token, query string) bool {
		rec := f.do("GET", "/api/v1/images"+query, token, "")
		return rec.Code == 200 && strings.Contains(rec.Body.String(), id)
	}
	if listed(member, "") || !listed(member, "?member_status=pending") {
		t.Error("a pending share: listed by default, or not with member_status=pending")
	}
	expect(t, f.do("GET", "/api/v1/images/"+id, member, ""), 200, `"members":[{"project_id":"`+pa+`","status":"pending"}]`)
	own := `[{"image_id":"` + id + `","project_id":"` + pa + `","status":"pending"}]`
	expect(t, f.do("GET", members, reader, ""), 200, own)
	if rec := f.do("GET", members, member, ""); strings.Contains(rec.Body.String(), admin) {
		t.Errorf("a recipient sees the other members: %s", rec.Body)
	}
	if rec := f.do("GET", members, owner, ""); !strings.Contains(rec.Body.String(), admin) || !strings.Contains(rec.Body.String(), pa) {
		t.Errorf("the owner's member list = %s, want both members", rec.Body)
	}

	expect(t, f.do("PUT", members+"/pa", owner, `{"status":"accepted"}`), 403, "only project")
	expect(t, f.do("PUT", members+"/pa", reader, `{"status":"accepted"}`), 403, "image:member_update")
	expect(t, f.do("PUT", members+"/pa", member, `{"status":"maybe"}`), 400, "member status")
	expect(t, f.do("PUT", members+"/pa", member, `{"status":"accepted"}`), 200,
		`{"image_id":"`+id+`","project_id":"`+pa+`","status":"accepted"}`)
	if !listed(member, "") {
		t.Error("an accepted share is not listed")
	}
	expect(t, f.do("GET", "/api/v1/images/golden", member, ""), 200, id)
	expect(t, f.do("PUT", members+"/"+pa, member, `{"status":"rejected"}`), 200, `"status":"rejected"`)
	if listed(member, "") {
		t.Error("a rejected share is listed")
	}
	expect(t, f.do("GET", "/api/v1/images/golden", member, ""), 404, "not found")
	expect(t, f.do("GET", "/api/v1/images/"+id, member, ""), 200, id) // by ID it stays usable, as in Glance
	expect(t, f.do("GET", "/api/v1/images?member_status=sometimes", member, ""), 400, "member status")
}

// Finding 6, on PATCH: a member cannot make its image public afterwards either; an admin can take
// a public image that a member made before the fix back to private, acting in its project.
func TestProbe06MemberCannotPublishByUpdate(t *testing.T) {
	f := newSharingFixture(t)
	id := f.imageID(f.tokens["member"], `{"name":"debian12","disk_format":"raw"}`)
	expect(t, f.do("PATCH", "/api/v1/images/"+id, f.tokens["member"], `{"visibility":"public"}`), 403, "image:publicize")
	expect(t, f.do("PATCH", "/api/v1/images/"+id, f.tokens["reader"], `{"protected":true}`), 403, "image:update")
	expect(t, f.do("PATCH", "/api/v1/images/"+id, f.tokens["member"], `{"protected":true}`), 200, `"protected":true`)
	expect(t, f.do("PATCH", "/api/v1/images/"+id, f.tokens["admin"], `{"visibility":"public"}`, ProjectHeader, "pa"), 200, `"visibility":"public"`)
	expect(t, f.do("GET", "/api/v1/images/debian12", f.tokens["memberb"], ""), 200, id)
	expect(t, f.do("PATCH", "/api/v1/images/"+id, f.tokens["admin"], `{"visibility":"private"}`, ProjectHeader, "pa"), 200, `"visibility":"private"`)
	expect(t, f.do("GET", "/api/v1/images/debian12", f.tokens["memberb"], ""), 404, "not found")
}
