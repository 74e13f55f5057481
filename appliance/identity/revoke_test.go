package identity

import (
	"testing"

	"cloudlet/appliance/fault"
)

// Finding 12: removing a role made a token 401 and re-adding the role brought it back; a disabled
// user's API keys worked again once it was re-enabled. Now what a change revokes stays revoked,
// and only a new login or a new key works.
func TestProbe12RoleRemovedThenReaddedTokenStaysRevoked(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember)
	tok := f.login("ada", "correct horse", "")
	key, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ci", Project: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Unassign(testCtx, "ada", "dev", RoleMember); err != nil {
		t.Fatal(err)
	}
	f.wantRevoked("after the role was removed", tok.Secret, key.Secret)
	if _, err := f.s.Assign(testCtx, "ada", "dev", RoleMember); err != nil {
		t.Fatal(err)
	}
	f.wantRevoked("after the role was added again", tok.Secret, key.Secret)
	f.resolve(f.login("ada", "correct horse", "").Secret) // a new login works
}

// Any role taken on a project revokes the user's tokens there, or the token would regain the role
// when it is given back.
func TestProbe12LosingOneOfTwoRolesRevokesTheToken(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember, RoleReader)
	tok := f.login("ada", "correct horse", "")
	readerKey, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ro", Project: "dev", Roles: []string{RoleReader}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Unassign(testCtx, "ada", "dev", RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Assign(testCtx, "ada", "dev", RoleMember); err != nil {
		t.Fatal(err)
	}
	f.wantRevoked("after member was removed and given back", tok.Secret)
	f.resolve(readerKey.Secret) // a key that never carried member did not rely on it
}

// The admin role is global: taking it revokes the user's tokens in every project and its keys
// carrying admin, wherever they act.
func TestProbe12AdminRoleRemovedRevokesEverywhere(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	bob := f.user("bob", "correct horse", "admin", RoleAdmin)
	tok := f.login("bob", "correct horse", "dev")
	key, err := f.s.CreateCredential(testCtx, bob.ID, CredentialSpec{Name: "ops", Project: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Unassign(testCtx, "bob", AdminName, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Assign(testCtx, "bob", AdminName, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	f.wantRevoked("after admin was removed and given back", tok.Secret, key.Secret)
}

func TestProbe12DisabledThenReenabledKeysStayRevoked(t *testing.T) {
	for _, tt := range []struct {
		name   string
		toggle func(f *fixture, enabled bool) error
	}{
		{"user", func(f *fixture, on bool) error {
			_, err := f.s.UpdateUser(testCtx, "ada", UserUpdate{Enabled: &on})
			return err
		}},
		{"project", func(f *fixture, on bool) error {
			_, err := f.s.UpdateProject(testCtx, "dev", ProjectUpdate{Enabled: &on})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.project("dev")
			ada := f.user("ada", "correct horse", "dev", RoleMember)
			tok := f.login("ada", "correct horse", "")
			key, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ci", Project: "dev"})
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.toggle(f, false); err != nil {
				t.Fatal(err)
			}
			f.wantRevoked("while disabled", tok.Secret, key.Secret)
			if err := tt.toggle(f, true); err != nil {
				t.Fatal(err)
			}
			f.wantRevoked("after re-enabling", tok.Secret, key.Secret)
			fresh, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ci", Project: "dev"})
			if err != nil {
				t.Fatalf("a new key of the same name: %v", err)
			}
			f.resolve(fresh.Secret)
		})
	}
}

// A password change or reset revokes the user's tokens (a thief's session ends with it); keys,
// which never held the password, stay.
func TestProbe12PasswordChangeRevokesTokens(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember)
	key, err := f.s.CreateCredential(testCtx, ada.ID, CredentialSpec{Name: "ci", Project: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	tok := f.login("ada", "correct horse", "")
	if _, err := f.s.UpdateUser(testCtx, "ada", UserUpdate{Password: ptr("a new horse")}); err != nil {
		t.Fatal(err)
	}
	f.wantRevoked("after a password change", tok.Secret)
	tok = f.login("ada", "a new horse", "")
	if _, err := f.s.ResetPassword(testCtx, "ada"); err != nil {
		t.Fatal(err)
	}
	f.wantRevoked("after a password reset", tok.Secret)
	f.resolve(key.Secret)
}

func (f *fixture) wantRevoked(when string, secrets ...string) {
	f.t.Helper()
	for _, s := range secrets {
		_, err := f.s.Resolve(testCtx, s)
		wantKind(f.t, "Resolve "+when, err, fault.Unauthorized, ErrUnauthenticated)
	}
}
