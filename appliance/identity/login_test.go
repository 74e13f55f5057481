package identity

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/ratelimit"
	"cloudlet/store"
)

func TestAuthenticateIssuesAScopedToken(t *testing.T) {
	f := newFixture(t)
	dev := f.project("dev")
	ada := f.user("ada", "correct horse", "dev", RoleMember)

	tok := f.login("ada", "correct horse", "") // the default project
	if !strings.HasPrefix(tok.Secret, TokenPrefix) || tok.ID == "" || !strings.Contains(tok.Secret, tok.ID) {
		t.Errorf("token = %+v, want a %s secret naming its ID", tok, TokenPrefix)
	}
	if tok.UserID != ada.ID || tok.ProjectID != dev.ID || tok.Source != "192.0.2.1:4242" {
		t.Errorf("token = %+v, want user %s, project %s, its source", tok, ada.ID, dev.ID)
	}
	if want := f.clock.Now().Add(DefaultTokenTTL); !tok.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v (the default TTL)", tok.ExpiresAt, want)
	}
	p := f.resolve(tok.Secret)
	want := Principal{UserID: ada.ID, UserName: "ada", ProjectID: dev.ID, ProjectName: "dev", Roles: []string{RoleMember},
		Via: ViaToken, TokenID: tok.ID, ExpiresAt: &tok.ExpiresAt}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("Resolve (-want +got):\n%s", diff)
	}
	if byName := f.login("ada", "correct horse", "dev"); byName.ProjectID != dev.ID {
		t.Errorf("login to project dev by name: project %s", byName.ProjectID)
	}
	if byID := f.login("ada", "correct horse", dev.ID); byID.ProjectID != dev.ID {
		t.Errorf("login to project dev by ID: project %s", byID.ProjectID)
	}
}

func TestAdminIsGlobal(t *testing.T) {
	f := newFixture(t)
	dev := f.project("dev")
	p := f.resolve(f.login(AdminName, f.adminPassword, "dev").Secret)
	if !p.IsAdmin || p.ProjectID != dev.ID || strings.Join(p.Roles, ",") != RoleAdmin {
		t.Errorf("admin in project dev = %+v, want an admin principal of dev", p)
	}
	if _, err := f.s.Assign(testCtx, AdminName, "dev", RoleReader); err != nil {
		t.Fatal(err)
	}
	p = f.resolve(f.login(AdminName, f.adminPassword, "dev").Secret)
	if strings.Join(p.Roles, ",") != "admin,reader" {
		t.Errorf("roles = %v, want admin and reader, most powerful first", p.Roles)
	}
}

// Every refusal reads the same and costs one password hash, so neither the message nor the time
// tells whether a user exists, is disabled, or may use the project.
func TestAuthenticateFailuresAreIndistinguishable(t *testing.T) {
	f := newFixture(t)
	f.project("dev")
	f.project("off")
	f.project("other")
	f.user("ada", "correct horse", "dev", RoleMember)
	if _, err := f.s.Assign(testCtx, "ada", "off", RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.UpdateProject(testCtx, "off", ProjectUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	f.user("bob", "bob's password", "dev", RoleMember)
	if _, err := f.s.UpdateUser(testCtx, "bob", UserUpdate{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CreateUser(testCtx, UserSpec{Name: "nodefault", Password: "nine lives", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	f.user("carl", "carl's password", "dev", RoleMember)
	err := f.db.Update(func(tx *store.Tx) error {
		u, err := users.Lookup(tx, "", "carl")
		if err != nil {
			return err
		}
		u.PasswordHash = "$2a$10$" + strings.Repeat("x", 53) // bcrypt, say
		return users.Update(tx, u)
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                    string
		user, password, project string
	}{
		{"unknown user", "nobody", "correct horse", "dev"},
		{"wrong password", "ada", "wrong horse", "dev"},
		{"empty password", "ada", "", "dev"},
		{"disabled user, right password", "bob", "bob's password", "dev"},
		{"disabled project", "ada", "correct horse", "off"},
		{"unknown project", "ada", "correct horse", "nowhere"},
		{"no role on the project", "ada", "correct horse", "other"},
		{"no project and no default", "nodefault", "nine lives", ""},
		{"huge user name", strings.Repeat("x", 10000), "correct horse", "dev"},
		{"damaged password hash", "carl", "carl's password", "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.s.hashRuns.Load()
			_, err := f.s.Authenticate(testCtx, tt.user, tt.password, tt.project, "")
			wantKind(t, "Authenticate", err, fault.Unauthorized, ErrLoginFailed)
			if err != nil && err.Error() != ErrLoginFailed.Error() {
				t.Errorf("message = %q, want exactly %q", err, ErrLoginFailed)
			}
			if runs := f.s.hashRuns.Load() - before; runs != 1 {
				t.Errorf("%d password hash computations, want 1", runs)
			}
		})
	}
}

// The dummy hash of unknown users has the real cost: verifying it takes about as long as a real one.
func TestUnknownUserCostsAsMuchAsAKnownOne(t *testing.T) {
	if testing.Short() {
		t.Skip("times the default argon2id cost")
	}
	f := newFixture(t, func(o *Options) { o.Argon2 = Argon2Params{}; o.LoginBackoff = LoginBackoff{FreeFailures: 100} })
	f.user("ada", "correct horse", "admin", RoleMember)
	timeOf := func(user string) time.Duration {
		start := time.Now()
		f.s.Authenticate(testCtx, user, "wrong horse", "", "")
		return time.Since(start)
	}
	known, unknown := time.Hour, time.Hour
	for range 5 { // interleaved, best of each: a shared machine's load weighs on both alike
		known = min(known, timeOf("ada"))
		unknown = min(unknown, timeOf("nobody"))
	}
	if unknown < known/2 || unknown > known*2 {
		t.Errorf("failed login of an unknown user took %v, of a known one %v: want comparable", unknown, known)
	}
}

func TestLoginRateLimitPerSource(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.SourceLogins = LoginLimit{Burst: 2, Every: 10 * time.Second} })
	f.user("ada", "correct horse", "admin", RoleMember)
	for _, user := range []string{"u1", "u2"} {
		f.s.Authenticate(testCtx, user, "guess", "", "203.0.113.5:1000")
	}
	_, err := f.s.Authenticate(testCtx, "ada", "correct horse", "", "203.0.113.5:2000") // other port, same host
	wantKind(t, "3rd attempt from 203.0.113.5", err, fault.TooManyRequests, ErrTooManyRequests)
	if err != nil && !strings.Contains(err.Error(), "address") {
		t.Errorf("message %q does not say which limit", err)
	}
	if _, err := f.s.Authenticate(testCtx, "ada", "correct horse", "", "203.0.113.6"); err != nil {
		t.Errorf("another address is limited too: %v", err)
	}
	f.clock.Advance(10 * time.Second)
	if _, err := f.s.Authenticate(testCtx, "ada", "correct horse", "", "203.0.113.5"); err != nil {
		t.Errorf("attempt after the window: %v", err)
	}
}

func TestSourceKey(t *testing.T) {
	tests := []struct{ source, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:4242", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
	}
	for _, tt := range tests {
		if got := ratelimit.SourceKey(tt.source); got != tt.want {
			t.Errorf("ratelimit.SourceKey(%q) = %q, want %q", tt.source, got, tt.want)
		}
	}
}

func isKind(err error, k fault.Kind) bool { return err != nil && fault.KindOf(err) == k }

func ptr[T any](v T) *T { return &v }
