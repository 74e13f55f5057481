package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/identity"
)

func TestDashboardLoginMakesASessionThatEndsWhenIdle(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	member, err := f.ids.User(context.Background(), "member")
	if err != nil {
		t.Fatal(err)
	}
	toks, err := f.ids.Tokens(context.Background(), member.ID)
	if err != nil || len(toks) != 2 || !toks[1].Session {
		t.Fatalf("member's tokens = %+v, %v: want the fixture's and a session token from the login", toks, err)
	}
	start := f.clock.Now()
	f.clock.Set(start.Add(20 * time.Minute))
	if rec := b.do("GET", "/overview", nil); rec.Code != 200 {
		t.Fatalf("GET /overview after 20 min = %d", rec.Code)
	}
	f.clock.Set(start.Add(45 * time.Minute)) // 25 min since the last use: renewed, still valid
	if rec := b.do("GET", "/overview", nil); rec.Code != 200 {
		t.Fatalf("GET /overview 25 min after the last use = %d, want the session renewed", rec.Code)
	}
	f.clock.Set(start.Add(45*time.Minute + identity.DefaultSessionIdle))
	rec := b.do("GET", "/overview?tab=x", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?next=%2Foverview%3Ftab%3Dx" {
		t.Errorf("GET after the idle time = %d to %q, want 303 to the login page and back", rec.Code, rec.Header().Get("Location"))
	}
}

// switchFixture: member works in pa and reads pb; reader only reads pa.
func switchFixture(t *testing.T) *authFixture {
	f := newAuthFixture(t)
	if _, err := f.ids.Assign(context.Background(), "member", "pb", identity.RoleReader); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDashboardProjectSwitcherRescopesTheSession(t *testing.T) {
	f := switchFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	page := b.do("GET", "/overview", nil).Body.String()
	if !strings.Contains(page, `<option value="pa" selected>pa</option>`) || !strings.Contains(page, `<option value="pb">pb</option>`) ||
		!strings.Contains(page, `<label for="project-switch">`) {
		t.Fatalf("overview lacks a switcher offering pa (current) and pb: %s", page)
	}
	old := b.cookies["cloudlet_session"].Value
	token := b.csrf("/overview")
	if rec := b.do("POST", "/session/project", url.Values{"project": {"pb"}, "next": {"/overview"}}); rec.Code != http.StatusForbidden {
		t.Errorf("a switch without the CSRF token = %d, want 403", rec.Code)
	}
	rec := b.do("POST", "/session/project", url.Values{"csrf_token": {token}, "project": {"pb"}, "next": {"/images"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/images" {
		t.Fatalf("switch to pb = %d to %q, want 303 back to /images: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if b.cookies["cloudlet_session"].Value == old {
		t.Fatal("the switch kept the old cookie")
	}
	if rec := f.do("GET", "/api/v1/instances", old, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("the old session's token after the switch = %d, want 401 (revoked)", rec.Code)
	}
	page = b.do("GET", "/overview", nil).Body.String()
	if !strings.Contains(page, `<option value="pb" selected>pb</option>`) {
		t.Errorf("after the switch the overview does not show pb as the project: %s", page)
	}
	if rec := f.do("GET", "/api/v1/projects/pb", b.cookies["cloudlet_session"].Value, ""); rec.Code != 200 {
		t.Errorf("the new session's token reads pb = %d %s", rec.Code, rec.Body)
	}
}

func TestDashboardProjectSwitcherRefusalLeavesTheSession(t *testing.T) {
	f := switchFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	old := b.cookies["cloudlet_session"].Value
	rec := b.do("POST", "/session/project", url.Values{"csrf_token": {b.csrf("/overview")}, "project": {"admin"}, "next": {"/overview"}})
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `role="alert"`) ||
		!strings.Contains(rec.Body.String(), "Could not switch to project admin") {
		t.Errorf("switch to a project without a role = %d %s, want 401 with the refusal shown", rec.Code, rec.Body)
	}
	if b.cookies["cloudlet_session"].Value != old {
		t.Error("a refused switch changed the cookie")
	}
	if rec := b.do("GET", "/overview", nil); rec.Code != 200 {
		t.Errorf("the session after a refused switch: GET /overview = %d", rec.Code)
	}
}

func TestDashboardShowsNoSwitcherWithOneProject(t *testing.T) {
	f := switchFixture(t)
	b := newBrowser(f)
	b.login("reader", testUserPassword, "pa", "/overview")
	page := b.do("GET", "/overview", nil).Body.String()
	if strings.Contains(page, `action="/session/project"`) || !strings.Contains(page, `<span class="project" title="Project">pa</span>`) {
		t.Errorf("a reader of one project sees a switcher, or not its project: %s", page)
	}
}
