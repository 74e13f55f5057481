package identity

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

func TestCreateUserRefuses(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		spec UserSpec
		kind fault.Kind
		msg  string
	}{
		{"short password", UserSpec{Name: "ada", Password: "1234567"}, fault.Invalid, "at least 8 characters"},
		{"no name", UserSpec{Password: "correct horse"}, fault.Invalid, "name is required"},
		{"bad name", UserSpec{Name: "-ada", Password: "correct horse"}, fault.Invalid, "invalid name"},
		{"bad email", UserSpec{Name: "ada", Password: "correct horse", Email: "Ada <ada@example.org>"}, fault.Invalid, "bare address"},
		{"taken name", UserSpec{Name: AdminName, Password: "correct horse"}, fault.Conflict, "already exists"},
		{"unknown default project", UserSpec{Name: "ada", Password: "correct horse", DefaultProject: "nowhere"}, fault.NotFound, "nowhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.s.CreateUser(testCtx, tt.spec)
			wantKind(t, "CreateUser", err, tt.kind, nil)
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not say %q", err, tt.msg)
			}
		})
	}
	// Eight characters, counted as characters, not bytes.
	if _, err := f.s.CreateUser(testCtx, UserSpec{Name: "eight", Password: "äöüßéèçñ"}); err != nil {
		t.Errorf("an 8-character password: %v", err)
	}
}

func TestUsersShowNoPasswordHash(t *testing.T) {
	f := newFixture(t)
	dev := f.project("dev")
	u, err := f.s.CreateUser(testCtx, UserSpec{Name: "ada", Email: "ada@example.org", Password: "correct horse",
		Enabled: true, DefaultProject: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	want := User{ID: u.ID, Name: "ada", Email: "ada@example.org", Enabled: true, DefaultProjectID: dev.ID,
		CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	got, err := f.s.User(testCtx, "ada")
	if diff := cmp.Diff(want, got); diff != "" || err != nil {
		t.Errorf("User (-want +got):\n%s%v", diff, err)
	}
	list, err := f.s.Users(testCtx)
	if err != nil || len(list) != 2 || list[0].Name != "ada" || list[1].Name != AdminName {
		t.Errorf("Users = %+v, %v", list, err)
	}
}

func TestUpdateUser(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	f.user("ada", "correct horse", "dev", RoleMember)
	u, err := f.s.UpdateUser(testCtx, "ada", UserUpdate{Email: ptr("ada@example.org"), DefaultProject: ptr("")})
	if err != nil || u.Email != "ada@example.org" || u.DefaultProjectID != "" {
		t.Errorf("UpdateUser = %+v, %v", u, err)
	}
	_, err = f.s.UpdateUser(testCtx, "ada", UserUpdate{Password: ptr("short")})
	wantKind(t, "a short new password", err, fault.Invalid, nil)
	if _, err := f.s.UpdateUser(testCtx, "ada", UserUpdate{Password: ptr("a new password")}); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.s.CheckPassword("ada", "a new password"); !ok || err != nil {
		t.Errorf("CheckPassword(new) = %v, %v", ok, err)
	}
	if ok, _ := f.s.CheckPassword("ada", "correct horse"); ok {
		t.Error("the old password still works")
	}
}

func TestProtectedAdmin(t *testing.T) {
	f := newFixture(t)
	checks := []struct {
		name string
		err  error
	}{
		{"delete user admin", f.s.DeleteUser(testCtx, AdminName)},
		{"delete project admin", f.s.DeleteProject(testCtx, AdminName)},
		{"unassign admin from admin", f.s.Unassign(testCtx, AdminName, AdminName, RoleAdmin)},
		{"disable user admin", second(f.s.UpdateUser(testCtx, AdminName, UserUpdate{Enabled: ptr(false)}))},
		{"disable project admin", second(f.s.UpdateProject(testCtx, AdminName, ProjectUpdate{Enabled: ptr(false)}))},
	}
	for _, c := range checks {
		wantKind(t, c.name, c.err, fault.Forbidden, ErrForbidden)
	}
	f.login(AdminName, f.adminPassword, "") // still the way in
}

func second[T any](_ T, err error) error { return err }

func TestResetPassword(t *testing.T) {
	f := newFixture(t)
	old := f.login(AdminName, f.adminPassword, "")
	password, err := f.s.ResetPassword(testCtx, AdminName)
	if err != nil || len(password) != adminPasswordLen {
		t.Fatalf("ResetPassword = %q, %v", password, err)
	}
	if _, err := f.s.Resolve(testCtx, old.Secret); !isKind(err, fault.Unauthorized) {
		t.Errorf("a token from before the reset still resolves: %v", err)
	}
	_, err = f.s.Authenticate(testCtx, AdminName, f.adminPassword, "", "")
	wantKind(t, "login with the old password", err, fault.Unauthorized, ErrLoginFailed)
	f.login(AdminName, password, "")
	_, err = f.s.ResetPassword(testCtx, "nobody")
	wantKind(t, "ResetPassword(nobody)", err, fault.NotFound, nil)
}

func TestRoleAssignments(t *testing.T) {
	f := newFixture(t)
	dev := f.project("dev")
	ada := f.user("ada", "correct horse", "dev")
	ra, err := f.s.Assign(testCtx, "ada", "dev", RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.s.Assign(testCtx, ada.ID, dev.ID, RoleMember)
	if err != nil || again.ID != ra.ID {
		t.Errorf("assigning twice = %+v, %v; want the same assignment", again, err)
	}
	_, err = f.s.Assign(testCtx, "ada", "dev", RoleAdmin)
	wantKind(t, "admin on a project other than admin", err, fault.Invalid, nil)
	_, err = f.s.Assign(testCtx, "ada", "dev", "owner")
	wantKind(t, "an unknown role", err, fault.Invalid, nil)
	if _, err := f.s.Assign(testCtx, "ada", AdminName, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.RoleAssignments(testCtx, "ada", "")
	if err != nil || len(got) != 2 {
		t.Fatalf("RoleAssignments(ada) = %+v, %v", got, err)
	}
	if p := f.resolve(f.login("ada", "correct horse", "dev").Secret); !p.IsAdmin {
		t.Errorf("ada with admin = %+v, want an admin", p)
	}
	if got, _ := f.s.RoleAssignments(testCtx, "", "dev"); len(got) != 1 || got[0].Role != RoleMember {
		t.Errorf("RoleAssignments(dev) = %+v", got)
	}
	wantKind(t, "unassigning a role not held", f.s.Unassign(testCtx, "ada", "dev", RoleReader), fault.NotFound, nil)
}

func TestDeleteUserTakesItsRecords(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember)
	f.login("ada", "correct horse", "")
	if _, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ci", Project: "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateKeypair(testCtx, KeypairSpec{UserID: ada.ID, Name: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteUser(testCtx, "ada"); err != nil {
		t.Fatal(err)
	}
	counts(t, f, map[string]int{"assignments": 1, "tokens": 0, "credentials": 0, "keypairs": 0}) // admin's role stays
}

func TestDeleteProject(t *testing.T) {
	var asked []string
	inUse := map[string]bool{}
	f := newFixture(t, func(o *Options) {
		o.ProjectInUse = func(ctx context.Context, projectID string) error {
			asked = append(asked, projectID)
			if inUse[projectID] {
				return fault.New(fault.Conflict, "project owns 1 instance")
			}
			return nil
		}
	})
	dev := f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember)
	f.login("ada", "correct horse", "")
	if _, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ci", Project: "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetLimits(testCtx, "dev", map[string]int64{QuotaInstances: 1}); err != nil {
		t.Fatal(err)
	}
	inUse[dev.ID] = true
	err := f.s.DeleteProject(testCtx, "dev")
	wantKind(t, "deleting a project in use", err, fault.Conflict, ErrConflict)
	if err != nil && !strings.Contains(err.Error(), "1 instance") {
		t.Errorf("message %q does not say what uses it", err)
	}
	inUse[dev.ID] = false
	if err := f.s.DeleteProject(testCtx, "dev"); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || asked[0] != dev.ID {
		t.Errorf("ProjectInUse asked about %v", asked)
	}
	counts(t, f, map[string]int{"assignments": 1, "tokens": 0, "credentials": 0, "quotas": 0})
	if u, _ := f.s.User(testCtx, "ada"); u.DefaultProjectID != "" {
		t.Errorf("ada's default project is still %s", u.DefaultProjectID)
	}
	f.s.projectInUse = func(context.Context, string) error { return errors.New("catalog gone") }
	f.project("tmp")
	if err := f.s.DeleteProject(testCtx, "tmp"); err == nil || fault.KindOf(err) != fault.Internal {
		t.Errorf("DeleteProject with a failing check = %v, want an internal error", err)
	}
}

// counts checks how many records of identity's kinds the catalog holds.
func counts(t *testing.T, f *fixture, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	err := f.db.View(func(tx *store.Tx) error {
		var err error
		n := func(name string, count func(*store.Tx, string) (int, error)) {
			if err == nil {
				got[name], err = count(tx, "")
			}
		}
		n("assignments", assignments.Count)
		n("tokens", tokens.Count)
		n("credentials", credentials.Count)
		n("keypairs", keypairs.Count)
		n("quotas", quotaSets.Count)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%d %s left, want %d", got[k], k, w)
		}
	}
}
