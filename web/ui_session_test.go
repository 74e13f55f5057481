package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a cookie-keeping client of the dashboard, in process.
type browser struct {
	t       *testing.T
	f       *authFixture
	cookies map[string]*http.Cookie
}

func newBrowser(f *authFixture) *browser {
	return &browser{t: f.t, f: f, cookies: map[string]*http.Cookie{}}
}

// do sends a request as a same-origin browser would (Sec-Fetch-Site: same-origin); headers override.
func (b *browser) do(method, path string, form url.Values, headers ...string) *httptest.ResponseRecorder {
	b.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, body)
	req.RemoteAddr = remoteAddr
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.f.srv.Handler().ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return rec
}

// login logs in through the form and fails the test unless it lands on next.
func (b *browser) login(user, password, project, next string) {
	b.t.Helper()
	rec := b.do("POST", "/login", url.Values{"username": {user}, "password": {password}, "project": {project}, "next": {next}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != next {
		b.t.Fatalf("login as %s = %d Location %q, want 303 to %s: %s", user, rec.Code, rec.Header().Get("Location"), next, rec.Body)
	}
}

var csrfInPage = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf reads the CSRF token from a page.
func (b *browser) csrf(page string) string {
	b.t.Helper()
	m := csrfInPage.FindStringSubmatch(b.do("GET", page, nil).Body.String())
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", page)
	}
	return m[1]
}

func TestDashboardRootSendsAStrangerToLoginAndBack(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	rec := b.do("GET", "/overview?x=1", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?next=%2Foverview%3Fx%3D1" {
		t.Fatalf("GET /overview without a session = %d %q, want 303 to the login page remembering the path", rec.Code, rec.Header().Get("Location"))
	}
	page := b.do("GET", "/login", nil)
	if page.Code != 200 || !strings.Contains(page.Body.String(), `name="password"`) {
		t.Fatalf("GET /login = %d %s", page.Code, page.Body)
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("login page Content-Security-Policy = %q", csp)
	}
	bad := b.do("POST", "/login", url.Values{"username": {"member"}, "password": {"wrong"}, "project": {"pa"}})
	if bad.Code != http.StatusUnauthorized || !strings.Contains(bad.Body.String(), `role="alert"`) || len(b.cookies) != 0 {
		t.Fatalf("wrong password = %d (cookies %v): %s, want 401 with the error on the form", bad.Code, b.cookies, bad.Body)
	}
	b.login("member", testUserPassword, "pa", "/overview?x=1")
	c := b.cookies["cloudlet_session"]
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("session cookie = %+v, want HttpOnly SameSite=Lax Path=/", c)
	}
	if rec := b.do("GET", "/overview", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "member") {
		t.Fatalf("GET /overview with the session = %d %s", rec.Code, rec.Body)
	}
}

func TestDashboardLoginNeverRedirectsOffSite(t *testing.T) {
	f := newAuthFixture(t)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		b := newBrowser(f)
		rec := b.do("POST", "/login", url.Values{"username": {"member"}, "password": {testUserPassword}, "project": {"pa"}, "next": {next}})
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
			t.Errorf("login with next=%q = %d to %q, want 303 to /", next, rec.Code, rec.Header().Get("Location"))
		}
	}
}

func TestDashboardUnsafeRequestsNeedTheCSRFTokenAndTheSameOrigin(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	token := b.csrf("/overview")
	if rec := b.do("POST", "/logout", url.Values{}); rec.Code != http.StatusForbidden {
		t.Errorf("logout without the CSRF token = %d, want 403", rec.Code)
	}
	if rec := b.do("POST", "/logout", url.Values{"csrf_token": {"forged"}}); rec.Code != http.StatusForbidden {
		t.Errorf("logout with a wrong CSRF token = %d, want 403", rec.Code)
	}
	rec := b.do("POST", "/logout", url.Values{"csrf_token": {token}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if rec.Code != http.StatusForbidden {
		t.Errorf("a cross-site logout with the right token = %d, want 403", rec.Code)
	}
	if rec := b.do("GET", "/overview", nil); rec.Code != 200 {
		t.Fatalf("the refused requests ended the session: GET /overview = %d", rec.Code)
	}
}

func TestDashboardLogoutRevokesTheToken(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	secret := b.cookies["cloudlet_session"].Value
	token := b.csrf("/overview")
	if rec := b.do("POST", "/logout", url.Values{"csrf_token": {token}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("logout = %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if _, ok := b.cookies["cloudlet_session"]; ok {
		t.Error("logout left the session cookie in the browser")
	}
	if rec := f.do("GET", "/api/v1/instances", secret, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("the logged-out session's token still works on the API: %d", rec.Code)
	}
}

func TestDashboardHTMXRequestWithoutSessionIsRedirectedWhole(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	rec := b.do("GET", "/overview", nil, "HX-Request", "true", "HX-Current-URL", "http://cloudlet.test/instances/abc?tab=log")
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("HX-Redirect") != "/login?next=%2Finstances%2Fabc%3Ftab%3Dlog" {
		t.Errorf("htmx request without a session = %d HX-Redirect %q", rec.Code, rec.Header().Get("HX-Redirect"))
	}
}

// TestDashboardFormsThePolicyForbidsAnswer403: a reader forcing the launch wizard's page, its step
// checks or its final POST gets 403 before any check of the form, as the API would answer.
func TestDashboardFormsThePolicyForbidsAnswer403(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("reader", testUserPassword, "pa", "/overview")
	token := b.csrf("/overview")
	for _, r := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/instances/new", nil},
		{"POST", "/instances/new/validate?step=1", url.Values{"csrf_token": {token}, "name": {"x"}}},
		{"POST", "/instances", url.Values{"csrf_token": {token}, "name": {"forced"}}},
	} {
		if rec := b.do(r.method, r.path, r.form); rec.Code != http.StatusForbidden {
			t.Errorf("reader %s %s = %d, want 403", r.method, r.path, rec.Code)
		}
	}
}
