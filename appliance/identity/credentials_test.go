package identity

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
)

// credFixture: project dev, ada holds member and reader there.
func credFixture(t *testing.T) (*fixture, User, Project) {
	f := newFixture(t)
	dev := f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember, RoleReader)
	return f, ada, dev
}

func TestCredentialResolvesToItsRolesAndActions(t *testing.T) {
	f, ada, dev := credFixture(t)
	expires := f.clock.Now().Add(24 * time.Hour)
	c, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ci", Project: "dev", Roles: []string{RoleReader},
		AllowedActions: []Action{"instance:list", "instance:show", "instance:list"}, ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Secret, CredentialPrefix) {
		t.Errorf("secret %q lacks the %s prefix", c.Secret, CredentialPrefix)
	}
	want := Principal{UserID: ada.ID, UserName: "ada", ProjectID: dev.ID, ProjectName: "dev", Roles: []string{RoleReader},
		Via: ViaCredential, CredentialID: c.ID, AllowedActions: []Action{"instance:list", "instance:show"}, ExpiresAt: &expires}
	p := f.resolve(c.Secret)
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("Resolve (-want +got):\n%s", diff)
	}
	for a, want := range map[Action]bool{"instance:list": true, "instance:create": false, "volume:list": false} {
		if got := Allowed(p, a); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", a, got, want)
		}
	}
	shown, err := f.s.Credential(testCtx, ada.ID, "ci")
	if err != nil || shown.Secret != "" || shown.ID != c.ID {
		t.Errorf("Credential(ci) = %+v, %v; want it without its secret", shown, err)
	}
	f.clock.Advance(24 * time.Hour)
	_, err = f.s.Resolve(testCtx, c.Secret)
	wantKind(t, "Resolve of an expired credential", err, fault.Unauthorized, ErrUnauthenticated)
}

func TestCredentialWithoutRolesTakesTheUsersRolesOfNow(t *testing.T) {
	f, ada, _ := credFixture(t)
	c, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "all", Project: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{RoleMember, RoleReader}, c.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	p := f.resolve(c.Secret)
	if p.AllowedActions != nil || p.ExpiresAt != nil || !Allowed(p, "instance:create") {
		t.Errorf("principal = %+v, want unrestricted member powers that never expire", p)
	}
	// Keystone: a credential whose user lost one of its roles stops working.
	if err := f.s.Unassign(testCtx, "ada", "dev", RoleReader); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Resolve(testCtx, c.Secret)
	wantKind(t, "Resolve after a role was removed", err, fault.Unauthorized, ErrUnauthenticated)
}

func TestRevokeCredentialTakesEffectAtOnce(t *testing.T) {
	f, ada, _ := credFixture(t)
	bob := f.user("bob", "bob's password", "dev", RoleMember)
	c, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ci", Project: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	f.resolve(c.Secret)
	wantKind(t, "bob revokes ada's credential", f.s.RevokeCredential(testCtx, bob.ID, c.ID), fault.NotFound, nil)
	wantKind(t, "bob revokes ada's credential by name", f.s.RevokeCredential(testCtx, bob.ID, "ci"), fault.NotFound, nil)
	if err := f.s.RevokeCredential(testCtx, ada.ID, "ci"); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Resolve(testCtx, c.Secret)
	wantKind(t, "Resolve of a revoked credential", err, fault.Unauthorized, ErrUnauthenticated)
	err = f.s.RevokeCredential(testCtx, ada.ID, c.Secret)
	wantKind(t, "revoking by secret", err, fault.NotFound, nil)
	if err != nil && strings.Contains(err.Error(), c.Secret[len(CredentialPrefix)+idLen:]) {
		t.Errorf("message %q repeats the secret", err)
	}
}

func TestCreateCredentialRefuses(t *testing.T) {
	f, ada, _ := credFixture(t)
	f.project("other")
	if _, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "taken", Project: "dev"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec CredentialSpec
		kind fault.Kind
	}{
		{"no name", CredentialSpec{Project: "dev"}, fault.Invalid},
		{"bad name", CredentialSpec{Name: "Bad Name", Project: "dev"}, fault.Invalid},
		{"name taken by the same user", CredentialSpec{Name: "taken", Project: "dev"}, fault.Conflict},
		{"unknown role", CredentialSpec{Name: "c", Project: "dev", Roles: []string{"owner"}}, fault.Invalid},
		{"a role the user lacks", CredentialSpec{Name: "c", Project: "dev", Roles: []string{RoleAdmin}}, fault.Forbidden},
		{"no role on the project", CredentialSpec{Name: "c", Project: "other"}, fault.Forbidden},
		{"unknown project", CredentialSpec{Name: "c", Project: "nowhere"}, fault.NotFound},
		{"unknown action", CredentialSpec{Name: "c", Project: "dev", AllowedActions: []Action{"instance:launch"}}, fault.Invalid},
		{"expiry in the past", CredentialSpec{Name: "c", Project: "dev", ExpiresAt: f.clock.Now()}, fault.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.s.CreateCredential(testCtx, ada.ID, tt.spec)
			wantKind(t, "CreateCredential", err, tt.kind, nil)
		})
	}
	bob := f.user("bob", "bob's password", "dev", RoleMember)
	if _, err := f.s.CreateCredential(testCtx, bob.ID, CredentialSpec{Name: "taken", Project: "dev"}); err != nil {
		t.Errorf("another user's credential of the same name: %v", err)
	}
	list, err := f.s.Credentials(testCtx, ada.ID)
	if err != nil || len(list) != 1 || list[0].Name != "taken" || list[0].Secret != "" {
		t.Errorf("Credentials(ada) = %+v, %v; want taken, without secret", list, err)
	}
}
