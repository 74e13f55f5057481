package identity

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
)

func TestTokenExpires(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.TokenTTL = time.Hour })
	f.user("ada", "correct horse", "admin", RoleMember)
	tok := f.login("ada", "correct horse", "")
	f.clock.Advance(time.Hour - time.Second)
	f.resolve(tok.Secret)
	f.clock.Advance(time.Second)
	_, err := f.s.Resolve(testCtx, tok.Secret)
	wantKind(t, "Resolve of an expired token", err, fault.Unauthorized, ErrUnauthenticated)
	if err != nil && !strings.Contains(err.Error(), "expired") {
		t.Errorf("message %q does not say expired", err)
	}
}

func TestRevokeTokenTakesEffectAtOnce(t *testing.T) {
	f := newFixture(t)
	ada := f.user("ada", "correct horse", "admin", RoleMember)
	bob := f.user("bob", "bob's password", "admin", RoleMember)
	t1, t2 := f.login("ada", "correct horse", ""), f.login("ada", "correct horse", "")
	err := f.s.RevokeToken(testCtx, bob.ID, t1.ID)
	wantKind(t, "bob revokes ada's token", err, fault.NotFound, nil)
	if err := f.s.RevokeToken(testCtx, ada.ID, t1.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Resolve(testCtx, t1.Secret)
	wantKind(t, "Resolve of a revoked token", err, fault.Unauthorized, ErrUnauthenticated)
	f.resolve(t2.Secret)
	err = f.s.RevokeToken(testCtx, "", t1.ID)
	wantKind(t, "revoking it twice", err, fault.NotFound, nil)
	err = f.s.RevokeToken(testCtx, "", t2.Secret)
	wantKind(t, "revoking by secret", err, fault.NotFound, nil)
	if err != nil && strings.Contains(err.Error(), t2.Secret[len(TokenPrefix)+idLen:]) {
		t.Errorf("message %q repeats the secret", err)
	}
}

func TestTokensListsWithoutSecrets(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.TokenTTL = time.Hour })
	dev := f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember)
	old := f.login("ada", "correct horse", "")
	f.clock.Advance(time.Hour) // old expires
	tok := f.login("ada", "correct horse", "")
	f.login(AdminName, f.adminPassword, "")
	got, err := f.s.Tokens(testCtx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []Token{{ID: tok.ID, UserID: ada.ID, ProjectID: dev.ID, Source: tok.Source, CreatedAt: f.clock.Now(),
		ExpiresAt: tok.ExpiresAt}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Tokens (-want +got):\n%s", diff)
	}
	if n, err := f.s.PruneTokens(testCtx); err != nil || n != 0 {
		t.Errorf("PruneTokens = %d, %v; want 0: logging in pruned ada's expired token %s", n, err, old.ID)
	}
	f.clock.Advance(time.Hour)
	if n, err := f.s.PruneTokens(testCtx); err != nil || n != 2 {
		t.Errorf("PruneTokens = %d, %v; want 2", n, err)
	}
}

func TestResolveRefuses(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	f.user("ada", "correct horse", "dev", RoleMember)
	good := f.login("ada", "correct horse", "").Secret
	id := strings.TrimPrefix(good, TokenPrefix)[:idLen]
	tests := []struct{ name, bearer string }{
		{"empty", ""},
		{"no prefix", strings.TrimPrefix(good, TokenPrefix)},
		{"unknown prefix", "xyz_" + strings.TrimPrefix(good, TokenPrefix)},
		{"credential prefix on a token", CredentialPrefix + strings.TrimPrefix(good, TokenPrefix)},
		{"wrong verifier", TokenPrefix + id + "_" + strings.Repeat("A", verifierLen)},
		{"unknown id", TokenPrefix + "00000000-0000-4000-8000-000000000000_" + good[len(good)-verifierLen:]},
		{"one character changed", tamper(good)},
		{"truncated", good[:len(good)-1]},
		{"extended", good + "A"},
		{"not base64", good[:len(good)-1] + "!"},
		{"huge", TokenPrefix + strings.Repeat("a", 1<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.s.Resolve(testCtx, tt.bearer)
			wantKind(t, "Resolve", err, fault.Unauthorized, ErrUnauthenticated)
		})
	}
	f.resolve(good) // still fine
}

// A token is only as good as its user, project and roles are now.
func TestResolveFollowsTheCatalog(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *fixture) error
	}{
		{"user disabled", func(f *fixture) error {
			_, err := f.s.UpdateUser(testCtx, "ada", UserUpdate{Enabled: ptr(false)})
			return err
		}},
		{"project disabled", func(f *fixture) error {
			_, err := f.s.UpdateProject(testCtx, "dev", ProjectUpdate{Enabled: ptr(false)})
			return err
		}},
		{"role removed", func(f *fixture) error { return f.s.Unassign(testCtx, "ada", "dev", RoleMember) }},
		{"password changed", func(f *fixture) error {
			_, err := f.s.UpdateUser(testCtx, "ada", UserUpdate{Password: ptr("new password")})
			return err
		}},
		{"password reset", func(f *fixture) error { _, err := f.s.ResetPassword(testCtx, "ada"); return err }},
		{"user deleted", func(f *fixture) error { return f.s.DeleteUser(testCtx, "ada") }},
		{"project deleted", func(f *fixture) error { return f.s.DeleteProject(testCtx, "dev") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.project("dev")
			f.user("ada", "correct horse", "dev", RoleMember)
			tok := f.login("ada", "correct horse", "")
			if err := tt.change(f); err != nil {
				t.Fatal(err)
			}
			_, err := f.s.Resolve(testCtx, tok.Secret)
			wantKind(t, "Resolve after the change", err, fault.Unauthorized, ErrUnauthenticated)
		})
	}
}
