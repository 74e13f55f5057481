package browser

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"cloudlet/appliance/e2e"
	"cloudlet/appliance/identity"
	"cloudlet/web/client"
)

// sessionCookie is the session cookie the browser keeps for the site, or nil.
func (tb *tab) sessionCookie() *network.Cookie {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, tabWait)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tb.s.url("/")}})
	if err != nil {
		tb.t.Fatalf("browser: read cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if strings.HasSuffix(c.Name, "cloudlet_session") {
			return c
		}
	}
	return nil
}

// secret is the token in the tab's session cookie; the test fails without one.
func (tb *tab) secret() string {
	tb.t.Helper()
	c := tb.sessionCookie()
	if c == nil {
		tb.t.Fatal("the browser has no session cookie")
	}
	return c.Value
}

// bearer calls the API over the socket with a token: a bearer token wins over the socket's trust.
func (s *site) bearer(secret string) *client.Client {
	return client.New(client.Options{Socket: s.d.Socket, Token: secret, Timeout: time.Minute})
}

// apiStatus is the HTTP status of an API call with a token: 200 for success.
func (s *site) apiStatus(secret, method, path string, in any) int {
	s.t.Helper()
	err := s.bearer(secret).Do(context.Background(), method, path, in, nil)
	var ae *client.Error
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &ae):
		return ae.Code
	}
	s.t.Fatalf("%s %s: %v", method, path, err)
	return 0
}

// revokeSession revokes the session token behind secret through the API, as another tab logging
// out or an admin would.
func (s *site) revokeSession(secret string) {
	s.t.Helper()
	var toks []identity.Token
	if err := s.bearer(secret).Do(context.Background(), "GET", "/api/v1/auth/tokens", nil, &toks); err != nil {
		s.t.Fatal(err)
	}
	var revoked int
	for _, tok := range toks {
		if tok.Session {
			if err := s.bearer(secret).Do(context.Background(), "DELETE", "/api/v1/auth/tokens/"+tok.ID, nil, nil); err != nil {
				s.t.Fatal(err)
			}
			revoked++
		}
	}
	if revoked != 1 {
		s.t.Fatalf("revoked %d session tokens, want the browser's one: %+v", revoked, toks)
	}
}

// post sends a dashboard POST as a program would (no browser headers), with the session cookie
// and header pairs, and returns the status; redirects are not followed.
func (s *site) post(path string, cookie *network.Cookie, form url.Values, headers ...string) int {
	s.t.Helper()
	req, err := http.NewRequest("POST", s.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestLoginReturnsToNextAndAnExpiredSessionReturnsToLoginAndBack(t *testing.T) {
	s := newSite(t)
	tb := s.open(t, "")
	tb.goTo("/overview?from=bookmark")
	tb.run(chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := tb.location(); !strings.HasSuffix(loc, "/login?next=%2Foverview%3Ffrom%3Dbookmark") {
		t.Fatalf("a page without a session went to %s, want the login page remembering it", loc)
	}
	tb.login("member", sitePassword, "/overview?from=bookmark")

	s.revokeSession(tb.secret()) // the session ends while the tab is open
	tb.goTo("/overview?after=expiry")
	tb.run(chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := tb.location(); !strings.HasSuffix(loc, "/login?next=%2Foverview%3Fafter%3Dexpiry") {
		t.Fatalf("with the session expired the tab went to %s, want the login page remembering the page", loc)
	}
	tb.shot("login")
	tb.login("member", sitePassword, "/overview?after=expiry")
}

func TestLogoutRevokesTheSessionToken(t *testing.T) {
	s := newSite(t)
	tb := s.open(t, "member")
	secret := tb.secret()
	if code := s.apiStatus(secret, "GET", "/api/v1/instances", nil); code != 200 {
		t.Fatalf("the session's token on the API = %d before logging out", code)
	}
	tb.run(chromedp.Click(chromedp.CSS(`form[action="/logout"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#username")))
	if c := tb.sessionCookie(); c != nil {
		t.Errorf("the browser still holds the session cookie after logging out: %s", c.Name)
	}
	if code := s.apiStatus(secret, "GET", "/api/v1/instances", nil); code != http.StatusUnauthorized {
		t.Errorf("the logged-out cookie's token on /api/v1 = %d, want 401", code)
	}
}

func TestCSRFLessAndForeignOriginPostsAreRefused(t *testing.T) {
	s := newSite(t)
	tb := s.open(t, "member")
	cookie := tb.sessionCookie()
	csrf := eval[string](tb, `document.querySelector('form[action="/logout"] input[name=csrf_token]').value`)
	if code := s.post("/logout", cookie, url.Values{}); code != http.StatusForbidden {
		t.Errorf("POST /logout with the cookie and no CSRF token = %d, want 403", code)
	}
	if code := s.post("/logout", cookie, url.Values{"csrf_token": {"forged"}}); code != http.StatusForbidden {
		t.Errorf("POST /logout with a wrong CSRF token = %d, want 403", code)
	}
	foreign := s.post("/logout", cookie, url.Values{"csrf_token": {csrf}}, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site")
	if foreign != http.StatusForbidden {
		t.Errorf("POST /logout from a foreign origin with the right token = %d, want 403", foreign)
	}
	if code := s.apiStatus(cookie.Value, "GET", "/api/v1/instances", nil); code != 200 {
		t.Fatalf("a refused POST ended the session: its token answers %d", code)
	}
	if code := s.post("/logout", cookie, url.Values{"csrf_token": {csrf}}); code != http.StatusSeeOther {
		t.Errorf("POST /logout with the token from this site = %d, want 303: the refusals above were not the checks'", code)
	}
}

func TestReaderSeesNoAdminOrLaunchControlsAndAForcedPostIs403(t *testing.T) {
	s := newSite(t)
	reader := s.open(t, "reader")
	if !eval[bool](reader, `document.querySelector('a[href="/admin"], a[href="/instances/new"], form[action="/instances"]') === null`) {
		t.Error("a reader sees the admin area or a launch control")
	}
	if code := s.apiStatus(reader.secret(), "POST", "/api/v1/instances", map[string]string{"name": "forced", "image": guestImage}); code != http.StatusForbidden {
		t.Errorf("a reader's session forcing an instance create = %d, want 403", code)
	}
	reader.goTo("/instances")
	reader.run(chromedp.WaitVisible(chromedp.CSS("main h1")))
	if !eval[bool](reader, `document.querySelector('a[href="/instances/new"], form[action="/instances"]') === null`) {
		t.Error("a reader sees the Launch button on the instances page")
	}
	forced := eval[int](reader, `fetch('/instances', {method: 'POST',
		headers: {'X-CSRF-Token': JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'],
			'Content-Type': 'application/x-www-form-urlencoded'},
		body: 'name=forced&image=`+guestImage+`&flavor=m1.tiny'}).then(r => r.status)`)
	if forced != http.StatusForbidden {
		t.Errorf("a reader forcing the dashboard's launch POST = %d, want 403", forced)
	}
	admin := s.open(t, "admin")
	if !eval[bool](admin, `document.querySelector('a[href="/admin"]') !== null`) {
		t.Error("an admin sees no admin area: the check above proves nothing")
	}
}

func TestProjectSwitcherMovesTheSessionAndRevokesTheOldToken(t *testing.T) {
	s := newSite(t)
	s.root("POST", "/api/v1/projects", map[string]string{"name": "lab"}, nil)
	s.root("PUT", "/api/v1/projects/lab/users/member/roles/reader", nil, nil)
	tb := s.open(t, "member")
	old := tb.secret()
	tb.run(chromedp.WaitVisible(chromedp.CSS("#project-switch")),
		chromedp.SetValue(chromedp.CSS("#project-switch"), "lab"),
		chromedp.Click(chromedp.CSS(`form.switcher button[type=submit]`)),
		chromedp.WaitReady(chromedp.CSS(`#project-switch option[value="lab"][selected]`)))
	if loc := tb.location(); !strings.HasSuffix(loc, "/overview") {
		t.Errorf("after switching the tab is at %s, want back on /overview", loc)
	}
	if code := s.apiStatus(old, "GET", "/api/v1/instances", nil); code != http.StatusUnauthorized {
		t.Errorf("the token before the switch answers %d, want 401 (revoked)", code)
	}
	if code := s.apiStatus(tb.secret(), "GET", "/api/v1/projects/lab", nil); code != 200 {
		t.Errorf("the new session's token reading lab = %d, want 200", code)
	}
	tb.shot("overview-switched")
}

// axeViolations runs axe-core (installed by make ui) on the tab's page and returns its serious and
// critical WCAG 2.x A/AA violations, each with where it is.
func (tb *tab) axeViolations() []string {
	tb.t.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "web", "ui", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		tb.t.Fatalf("axe-core is not installed (make ui installs it): %v", err)
	}
	if !eval[bool](tb, string(src)+"\n;typeof axe === 'object'") {
		tb.t.Fatal("axe-core did not load")
	}
	return eval[[]string](tb, `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'wcag22aa']}})
		.then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
			.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', ')))`)
}

// TestMainPagesHaveNoSeriousAccessibilityViolations: axe-core finds no serious or critical
// violation on the pages main has, and the overview fits a phone's width.
func TestMainPagesHaveNoSeriousAccessibilityViolations(t *testing.T) {
	s := newSite(t)
	s.root("POST", "/api/v1/projects", map[string]string{"name": "lab"}, nil)
	s.root("PUT", "/api/v1/projects/lab/users/member/roles/member", nil, nil)
	stranger := s.open(t, "")
	stranger.goTo("/login")
	stranger.run(chromedp.WaitVisible(chromedp.CSS("#username")))
	pages := []struct {
		tb         *tab
		path, shot string
	}{
		{stranger, "/login", "login"},
		{s.open(t, "member"), "/overview", "overview-member"},
		{s.open(t, "admin"), "/overview", "overview-admin"},
	}
	for _, p := range pages {
		p.tb.goTo(p.path)
		p.tb.run(chromedp.WaitVisible(chromedp.CSS("main h1")))
		if v := p.tb.axeViolations(); len(v) > 0 {
			t.Errorf("axe-core on %s (%s): %d serious or critical violations:\n%s", p.path, p.shot, len(v), strings.Join(v, "\n"))
		}
		p.tb.shot(p.shot)
	}
	phone := pages[1].tb // the member's top bar has the most in it: the switcher
	phone.run(chromedp.EmulateViewport(390, 844))
	phone.goTo("/overview")
	if w := eval[int](phone, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("at a phone's width (390 px) the overview is %d px wide: the page scrolls sideways", w)
	}
	phone.shot("overview-member-390px")
}

// TestLoginOverHTTPSSetsASecureHostCookie: off loopback the daemon serves HTTPS with the certificate
// it made; the login test passes there too, and the session cookie is __Host- prefixed and Secure.
func TestLoginOverHTTPSSetsASecureHostCookie(t *testing.T) {
	d := e2e.NewDaemon(t, cloudletBin)
	d.Listen = e2e.FreePortOn(t, e2e.AddLANAddress(t, "clui0", "10.78.0.1/24"))
	tb := checkLogin(t, startSite(t, d, "https"), "-https")
	if !strings.HasPrefix(tb.location(), "https://") {
		t.Fatalf("the tab is at %s, want an https page", tb.location())
	}
	c := tb.sessionCookie()
	if c == nil || c.Name != "__Host-cloudlet_session" || !c.Secure || !c.HTTPOnly || c.Path != "/" {
		t.Errorf("session cookie over HTTPS = %+v, want __Host-cloudlet_session, Secure, HttpOnly, Path=/", c)
	}
}
