package images

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
)

const projectC = "project-c"

// withProjects resolves project names the way identity does: by ID or name, unknown → not found.
func withProjects(byName map[string]string) func(*Options) {
	return func(o *Options) {
		o.ResolveProject = func(_ context.Context, ref string) (string, error) {
			for name, id := range byName {
				if ref == name || ref == id {
					return id, nil
				}
			}
			return "", fault.New(fault.NotFound, "project %q not found", ref)
		}
	}
}

var testProjects = map[string]string{"alpha": projectA, "beta": projectB, "gamma": projectC}

// Finding 6: a member's public debian12 made every other project's lookup of debian12 a 409. A
// name resolves to the caller's own image first, then one shared with it that it accepted, then a
// public one: same-named images of other projects never make it ambiguous.
func TestProbe06NameResolvesOwnThenSharedThenPublic(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withProjects(testProjects))
	public := e.importIn("project-admin", "debian12", VisibilityPublic)
	own := e.importIn(projectA, "debian12", VisibilityPrivate)
	shared := e.importIn(projectC, "debian12", VisibilityPrivate)
	if _, err := e.svc.AddMember(ctx, projectC, "debian12", "beta"); err != nil {
		t.Fatal(err)
	}
	lookup := func(project string) string {
		t.Helper()
		img, err := e.svc.Get(ctx, project, "debian12")
		if err != nil {
			t.Fatalf("Get(%s, debian12): %v", project, err)
		}
		return img.ID
	}
	for _, tt := range []struct {
		step, project, want string
		before              func()
	}{
		{"own before public", projectA, own.ID, nil},
		{"a pending share is not found by name", projectB, public.ID, nil},
		{"an accepted share before public", projectB, shared.ID, func() {
			e.svc.SetMemberStatus(ctx, projectB, shared.ID, projectB, MemberAccepted)
		}},
		{"public for a project with neither", "project-d", public.ID, nil},
		{"own before an accepted share", projectC, shared.ID, nil},
		{"a rejected share is not found by name", projectB, public.ID, func() {
			e.svc.SetMemberStatus(ctx, projectB, shared.ID, projectB, MemberRejected)
		}},
	} {
		if tt.before != nil {
			tt.before()
		}
		if got := lookup(tt.project); got != tt.want {
			t.Errorf("%s: Get(%s, debian12) = %s, want %s", tt.step, tt.project, got, tt.want)
		}
	}
	if _, err := e.svc.BootFiles(ctx, projectA, "debian12"); err != nil {
		t.Errorf("BootFiles(A, debian12): %v", err)
	}
}

// Finding 13: "nonexistproj" was stored as it came and answered 200, sharing nothing. Members are
// resolved to project IDs; an unknown project is 404 and nothing changes.
func TestProbe13MemberOfAnUnknownProjectIsNotFound(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withProjects(testProjects))
	img := e.importIn(projectA, "golden", VisibilityPrivate)
	_, err := e.svc.AddMember(ctx, projectA, "golden", "nonexistproj")
	checkErr(t, err, ErrNotFound, fault.NotFound, `project "nonexistproj" not found`)
	if got := e.get(img.ID); got.Visibility != VisibilityPrivate || len(got.Members) != 0 {
		t.Errorf("after a refused member: %+v", *got)
	}
	byName, err := e.svc.AddMember(ctx, projectA, "golden", "beta")
	if err != nil || !cmp.Equal(byName.Members, []Member{{projectB, MemberPending}}) {
		t.Fatalf("AddMember(beta) = %+v, %v; want project-b by its ID, pending", byName, err)
	}
	if got, err := e.svc.RemoveMember(ctx, projectA, "golden", "beta"); err != nil || len(got.Members) != 0 {
		t.Errorf("RemoveMember(beta) = %+v, %v", got, err)
	}
}

// Finding 13: recipients saw the whole member list. The owner sees every member; a recipient only
// its own membership, wherever the image is shown.
func TestProbe13RecipientSeesOnlyItsOwnMembership(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withProjects(testProjects))
	img := e.importIn(projectA, "golden", VisibilityPrivate)
	for _, p := range []string{"beta", "gamma"} {
		if _, err := e.svc.AddMember(ctx, projectA, img.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	e.svc.SetMemberStatus(ctx, projectB, img.ID, "beta", MemberAccepted)
	all := []Member{{projectB, MemberAccepted}, {projectC, MemberPending}}
	if got, err := e.svc.Members(ctx, projectA, "golden"); err != nil || !cmp.Equal(got, all) {
		t.Errorf("owner's Members = %v, %v; want %v", got, err, all)
	}
	own := []Member{{projectB, MemberAccepted}}
	if got, err := e.svc.Members(ctx, projectB, img.ID); err != nil || !cmp.Equal(got, own) {
		t.Errorf("recipient's Members = %v, %v; want %v", got, err, own)
	}
	if got, err := e.svc.Get(ctx, projectB, "golden"); err != nil || !cmp.Equal(got.Members, own) {
		t.Errorf("recipient's Get shows members %v (%v); want %v", got.Members, err, own)
	}
	list, _ := e.svc.List(ctx, projectB)
	if len(list) != 1 || !cmp.Equal(list[0].Members, own) {
		t.Errorf("recipient's List = %+v", list)
	}
	if stored := e.get(img.ID); !cmp.Equal(stored.Members, all) {
		t.Errorf("the stored record lost members: %v", stored.Members)
	}
	_, err := e.svc.Members(ctx, "project-d", img.ID)
	checkErr(t, err, ErrNotFound, fault.NotFound)
}

// Finding 13: there was no accept step. A share is pending until the recipient accepts it: only
// then is it listed; pending or rejected it stays usable by ID (as in Glance). Only the recipient
// answers, with one of Glance's statuses.
func TestProbe13PendingSharesAreListedOnlyOnceAccepted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withProjects(testProjects))
	img := e.importIn(projectA, "golden", VisibilityPrivate)
	if _, err := e.svc.AddMember(ctx, projectA, "golden", "beta"); err != nil {
		t.Fatal(err)
	}
	listed := func(status string) []string {
		t.Helper()
		list, err := e.svc.ListShared(ctx, projectB, status)
		if err != nil {
			t.Fatal(err)
		}
		return names(list)
	}
	none, golden := []string{}, []string{"project-a/golden"}
	check := func(step string, wantListed []string) {
		t.Helper()
		if diff := cmp.Diff(wantListed, listed(MemberAccepted)); diff != "" {
			t.Errorf("%s: List(B) (-want +got):\n%s", step, diff)
		}
		if _, err := e.svc.BootFiles(ctx, projectB, img.ID); err != nil {
			t.Errorf("%s: BootFiles(B, id): %v", step, err)
		}
	}
	check("pending", none)
	if diff := cmp.Diff(golden, listed(MemberPending)); diff != "" {
		t.Errorf("ListShared(B, pending) (-want +got):\n%s", diff)
	}

	_, err := e.svc.SetMemberStatus(ctx, projectA, img.ID, "beta", MemberAccepted)
	checkErr(t, err, ErrNotOwner, fault.Forbidden, "only project")
	_, err = e.svc.SetMemberStatus(ctx, projectC, img.ID, "gamma", MemberAccepted)
	checkErr(t, err, ErrNotFound, fault.NotFound)
	_, err = e.svc.SetMemberStatus(ctx, projectB, img.ID, "beta", "maybe")
	checkErr(t, err, ErrInvalid, fault.Invalid, "member status")

	m, err := e.svc.SetMemberStatus(ctx, projectB, "golden", "beta", MemberAccepted) // by name among its shares
	if err != nil || *m != (Member{projectB, MemberAccepted}) {
		t.Fatalf("accept = %v, %v", m, err)
	}
	check("accepted", golden)
	if _, err := e.svc.SetMemberStatus(ctx, projectB, img.ID, projectB, MemberRejected); err != nil {
		t.Fatal(err)
	}
	check("rejected", none)
	if diff := cmp.Diff(golden, listed("all")); diff != "" {
		t.Errorf("ListShared(B, all) (-want +got):\n%s", diff)
	}
}

// Members stored before the accept step (bare project IDs) read as accepted ones.
func TestMembersStoredBeforeStatusesReadAsAccepted(t *testing.T) {
	var img Image
	if err := json.Unmarshal([]byte(`{"visibility":"shared","members":["p-1"]}`), &img); err != nil {
		t.Fatal(err)
	}
	if want := []Member{{"p-1", MemberAccepted}}; !cmp.Equal(img.Members, want) {
		t.Errorf("members = %v, want %v", img.Members, want)
	}
}

// Update changes what its owner asks and nothing else; a protected image can be unprotected and
// deleted; another project cannot change it; a public image can go private again.
func TestImageUpdate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r := e.request("keep", e.write("keep.raw", make([]byte, 4096)), FormatRaw)
	r.Protected, r.Visibility = true, VisibilityPublic
	e.mustImport(r)
	private, unprotect, ram := VisibilityPrivate, false, 512
	got, err := e.svc.Update(ctx, projectA, "keep", UpdateRequest{Visibility: &private, Protected: &unprotect, MinRAMMiB: &ram})
	if err != nil || got.Visibility != VisibilityPrivate || got.Protected || got.MinRAMMiB != 512 || got.MinDiskGiB != 0 {
		t.Fatalf("Update = %+v, %v", got, err)
	}
	if _, err := e.svc.Get(ctx, projectB, "keep"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("another project's Get after going private: %v, want not found", err)
	}
	_, err = e.svc.Update(ctx, projectB, got.ID, UpdateRequest{Protected: &unprotect})
	checkErr(t, err, ErrNotFound, fault.NotFound)
	bad, huge := "everyone", MaxMinDiskGiB+1
	for _, r := range []UpdateRequest{{}, {Visibility: &bad}, {MinDiskGiB: &huge}} {
		_, err := e.svc.Update(ctx, projectA, "keep", r)
		checkErr(t, err, ErrInvalid, fault.Invalid)
	}
	if err := e.svc.Delete(ctx, projectA, "keep"); err != nil {
		t.Errorf("delete after unprotecting: %v", err)
	}
}

// Update renames an image (the new name must be free in the project) and merges properties: a value
// sets its key, nil removes it, and the result keeps CreateRequest's bounds.
func TestImageUpdateRenamesAndMergesProperties(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r := e.request("old", e.write("old.raw", make([]byte, 4096)), FormatRaw)
	r.Properties = map[string]string{"os_distro": "debian", "gone": "x"}
	e.mustImport(r)
	e.mustImport(e.request("taken", e.write("taken.raw", make([]byte, 4096)), FormatRaw))
	name, arch := "new", "x86_64"
	got, err := e.svc.Update(ctx, projectA, "old", UpdateRequest{Name: &name,
		Properties: map[string]*string{"architecture": &arch, "gone": nil}})
	want := map[string]string{"os_distro": "debian", "architecture": "x86_64"}
	if err != nil || got.Name != "new" || !cmp.Equal(got.Properties, want) {
		t.Fatalf("Update = %+v, %v; want name new, properties %v", got, err, want)
	}
	taken, bad, ctl := "taken", "Not A Name", "a\nb"
	_, err = e.svc.Update(ctx, projectA, "new", UpdateRequest{Name: &taken})
	if fault.KindOf(err) != fault.Conflict {
		t.Errorf("rename onto a taken name: %v, want conflict", err)
	}
	for _, r := range []UpdateRequest{{Name: &bad}, {Properties: map[string]*string{"bad key": &arch}},
		{Properties: map[string]*string{"k": &ctl}}} {
		if _, err := e.svc.Update(ctx, projectA, "new", r); fault.KindOf(err) != fault.Invalid {
			t.Errorf("Update %+v: %v, want invalid", r, err)
		}
	}
	if img, _ := e.svc.Get(ctx, projectA, "new"); !cmp.Equal(img.Properties, want) {
		t.Errorf("properties after refused updates = %v, want %v", img.Properties, want)
	}
}
