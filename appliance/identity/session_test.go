package identity

import (
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/fault"
)

// sessionFixture has user ada, member of project dev (her default) and reader on project ops.
func sessionFixture(t *testing.T) *fixture {
	f := newFixture(t, func(o *Options) { o.TokenTTL = 12 * time.Hour; o.SessionIdle = 30 * time.Minute })
	f.project("dev")
	f.project("ops")
	f.user("ada", "correct horse", "dev", RoleMember)
	if _, err := f.s.Assign(testCtx, "ada", "ops", RoleReader); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) loginSession(user, password, project string) Token {
	f.t.Helper()
	tok, err := f.s.AuthenticateSession(testCtx, user, password, project, "192.0.2.1:4242")
	if err != nil {
		f.t.Fatalf("AuthenticateSession(%s, project %q): %v", user, project, err)
	}
	return tok
}

func TestSessionTokenExpiresWhenIdle(t *testing.T) {
	f := sessionFixture(t)
	tok := f.loginSession("ada", "correct horse", "")
	if !tok.Session || tok.ExpiresAt != f.clock.Now().Add(12*time.Hour) {
		t.Fatalf("session token = %+v, want a session expiring after the token TTL", tok)
	}
	f.clock.Advance(30*time.Minute - time.Second)
	f.resolve(tok.Secret)
	f.clock.Advance(30*time.Minute + time.Second) // unused for the whole idle time since
	_, err := f.s.Resolve(testCtx, tok.Secret)
	wantKind(t, "Resolve of an idle session", err, fault.Unauthorized, ErrUnauthenticated)
	if err != nil && !strings.Contains(err.Error(), "without use") {
		t.Errorf("message %q does not say the session idled out", err)
	}
	if list, _ := f.s.Tokens(testCtx, tok.UserID); len(list) != 0 {
		t.Errorf("Tokens lists the idle session: %+v", list)
	}
}

func TestSessionTokenIsRenewedWhileUsed(t *testing.T) {
	f := sessionFixture(t)
	tok := f.loginSession("ada", "correct horse", "")
	for range 8 { // 8 × 20 min = 2 h 40 min, far past one idle time
		f.clock.Advance(20 * time.Minute)
		f.resolve(tok.Secret)
	}
	list, err := f.s.Tokens(testCtx, tok.UserID)
	if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(f.clock.Now()) {
		t.Fatalf("Tokens = %+v, %v: want the session with its last use now", list, err)
	}
	f.clock.Advance(29 * time.Minute)
	f.resolve(tok.Secret)
}

func TestSessionRenewalWritesAtMostOnceAMinute(t *testing.T) {
	f := sessionFixture(t)
	tok := f.loginSession("ada", "correct horse", "")
	f.clock.Advance(2 * time.Minute)
	f.resolve(tok.Secret) // renews: the recorded use is 2 min old
	renewed := f.clock.Now()
	f.clock.Advance(50 * time.Second)
	f.resolve(tok.Secret) // within the minute: not written
	list, err := f.s.Tokens(testCtx, tok.UserID)
	if err != nil || len(list) != 1 || !list[0].LastUsedAt.Equal(renewed) {
		t.Fatalf("Tokens = %+v, %v: want the last use recorded at %s only", list, err, renewed)
	}
}

func TestSessionTokenStillEndsAtItsAbsoluteExpiry(t *testing.T) {
	f := sessionFixture(t)
	tok := f.loginSession("ada", "correct horse", "")
	for range 12*4 - 1 { // used every 15 min for 11 h 45 min
		f.clock.Advance(15 * time.Minute)
		f.resolve(tok.Secret)
	}
	f.clock.Advance(15 * time.Minute)
	_, err := f.s.Resolve(testCtx, tok.Secret)
	wantKind(t, "Resolve of a used session past the token TTL", err, fault.Unauthorized, ErrUnauthenticated)
	if err != nil && !strings.Contains(err.Error(), "token expired") {
		t.Errorf("message %q does not say the token expired", err)
	}
}

func TestOrdinaryTokensHaveNoIdleExpiry(t *testing.T) {
	f := sessionFixture(t)
	tok := f.login("ada", "correct horse", "")
	if tok.Session || tok.LastUsedAt != nil {
		t.Fatalf("ordinary token = %+v, want no session", tok)
	}
	f.clock.Advance(11 * time.Hour)
	f.resolve(tok.Secret)
}

func TestRescopeGivesATokenOfTheSameKindForAnotherProject(t *testing.T) {
	f := sessionFixture(t)
	tok := f.loginSession("ada", "correct horse", "dev")
	f.clock.Advance(10 * time.Minute)
	ops, err := f.s.Rescope(testCtx, tok.ID, "ops", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	p := f.resolve(ops.Secret)
	if p.ProjectName != "ops" || p.UserName != "ada" || strings.Join(p.Roles, ",") != RoleReader {
		t.Errorf("rescoped principal = %+v, want ada, reader on ops", p)
	}
	if !ops.Session || !ops.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Errorf("rescoped token = %+v, want a session expiring with the first (%s)", ops, tok.ExpiresAt)
	}
	if f.resolve(tok.Secret).ProjectName != "dev" {
		t.Error("the first token changed project")
	}
	plain := f.login("ada", "correct horse", "dev")
	if back, err := f.s.Rescope(testCtx, plain.ID, "ops", ""); err != nil || back.Session {
		t.Errorf("rescope of an ordinary token = %+v, %v, want an ordinary token", back, err)
	}
}

func TestRescopeIsRefusedLikeALogin(t *testing.T) {
	f := sessionFixture(t)
	f.project("secret")
	tok := f.loginSession("ada", "correct horse", "dev")
	for _, project := range []string{"secret", "nowhere", AdminName} {
		_, err := f.s.Rescope(testCtx, tok.ID, project, "")
		wantKind(t, "rescope to "+project, err, fault.Unauthorized, ErrLoginFailed)
	}
	f.clock.Advance(31 * time.Minute)
	_, err := f.s.Rescope(testCtx, tok.ID, "ops", "")
	wantKind(t, "rescope of an idle session", err, fault.Unauthorized, ErrLoginFailed)
	_, err = f.s.Rescope(testCtx, "00000000-0000-0000-0000-000000000000", "ops", "")
	wantKind(t, "rescope of an unknown token", err, fault.Unauthorized, ErrLoginFailed)
}

func TestUserProjectsAreWhereTheUserHoldsARole(t *testing.T) {
	f := sessionFixture(t)
	f.project("secret")
	ada, err := f.s.User(testCtx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	if got := projectNames(t, f, ada.ID); got != "dev,ops" {
		t.Errorf("ada's projects = %s, want dev,ops", got)
	}
	if _, err := f.s.UpdateProject(testCtx, "ops", ProjectUpdate{Enabled: new(false)}); err != nil {
		t.Fatal(err)
	}
	if got := projectNames(t, f, ada.ID); got != "dev" {
		t.Errorf("ada's projects with ops disabled = %s, want dev", got)
	}
	admin, err := f.s.User(testCtx, AdminName)
	if err != nil {
		t.Fatal(err)
	}
	if got := projectNames(t, f, admin.ID); got != "admin,dev,secret" {
		t.Errorf("admin's projects = %s, want every enabled one", got)
	}
}

func projectNames(t *testing.T, f *fixture, userID string) string {
	t.Helper()
	ps, err := f.s.UserProjects(testCtx, userID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return strings.Join(names, ",")
}
