package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloudlet/appliance/host"
	"cloudlet/appliance/identity"
	"cloudlet/store"
)

// authClock is the identity service's clock: tests move it on to expire tokens.
type authClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *authClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *authClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// authFixture is a server whose loopback is not trusted, over real services and a real identity
// service sharing one catalog, with projects pa and pb and a user per role.
type authFixture struct {
	t             *testing.T
	srv           *Server
	db            *store.DB
	ids           *identity.Service
	clock         *authClock
	log           *syncLog
	adminPassword string
	tokens        map[string]string // role or user name → bearer
}

// syncLog captures the server's log.
type syncLog struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

const testUserPassword = "canary-password-7f3a9c"

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	db, comp, imgs, vols, nets := testServicesDB(t)
	if _, err := vols.EnsureDefaultPool(context.Background(), filepath.Join(t.TempDir(), "pool")); err != nil {
		t.Fatal(err)
	}
	clock := &authClock{t: time.Now()}
	ids, adminPW := testIdentity(t, db, clock.Now)
	adminProject, err := ids.AdminProjectID()
	if err != nil {
		t.Fatal(err)
	}
	log := &syncLog{}
	srv, err := New(Options{
		Logger:  slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Host:    testHostService(),
		Backup:  func(w io.Writer) (int64, error) { return 0, nil },
		Events:  catalogEvents(db),
		Compute: comp, Images: imgs, Volumes: vols, Networks: nets,
		Identity: ids, DefaultProject: adminProject, LoopbackNeedsToken: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &authFixture{t: t, srv: srv, db: db, ids: ids, clock: clock, log: log, adminPassword: adminPW, tokens: map[string]string{}}
	ctx := context.Background()
	for _, p := range []string{"pa", "pb"} {
		if _, err := ids.CreateProject(ctx, p, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct{ name, project, role string }{
		{"member", "pa", identity.RoleMember}, {"reader", "pa", identity.RoleReader}, {"memberb", "pb", identity.RoleMember},
	} {
		if _, err := ids.CreateUser(ctx, identity.UserSpec{Name: u.name, Password: testUserPassword, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := ids.Assign(ctx, u.name, u.project, u.role); err != nil {
			t.Fatal(err)
		}
		f.tokens[u.name] = f.login(u.name, testUserPassword, u.project)
	}
	f.tokens["admin"] = f.login("admin", adminPW, "admin")
	return f
}

func (f *authFixture) login(user, password, project string) string {
	f.t.Helper()
	tok, err := f.ids.Authenticate(context.Background(), user, password, project, "")
	if err != nil {
		f.t.Fatalf("login %s: %v", user, err)
	}
	return tok.Secret
}

// do sends a request from a remote address with a bearer token ("" for none).
func (f *authFixture) do(method, path, token, body string, headers ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = remoteAddr
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// routePath fills a route's parameters with names that exist nowhere (so no request changes
// anything), except :action, a real verb.
func routePath(path string) string {
	return strings.NewReplacer(":id", "nothing", ":action", "stop", ":project", "pa", ":user", "nobody",
		":role", "member").Replace(path)
}

// TestEveryRouteAuthenticatesAndAuthorizes walks every registered route: without a token, with an
// expired one and with a revoked one it answers 401 with a Bearer challenge; with each role's token
// it answers what the policy table says (denied: 403 naming the action; allowed: neither).
func TestEveryRouteAuthenticatesAndAuthorizes(t *testing.T) {
	f := newAuthFixture(t)
	expired := f.login("member", testUserPassword, "pa")
	f.clock.Set(f.clock.Now().Add(identity.DefaultTokenTTL + time.Minute))
	f.tokens["admin"] = f.login("admin", f.adminPassword, "admin")
	f.tokens["member"] = f.login("member", testUserPassword, "pa")
	f.tokens["reader"] = f.login("reader", testUserPassword, "pa")
	revoked := f.login("member", testUserPassword, "pa")
	p, err := f.ids.Resolve(context.Background(), revoked)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ids.RevokeToken(context.Background(), p.UserID, p.TokenID); err != nil {
		t.Fatal(err)
	}
	principals := map[string]identity.Principal{}
	for _, role := range []string{"admin", "member", "reader"} {
		if principals[role], err = f.ids.Resolve(context.Background(), f.tokens[role]); err != nil {
			t.Fatal(err)
		}
	}
	routes := f.srv.Routes()
	if len(routes) < 100 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, r := range routes {
		path := routePath(r.Path)
		if r.Action == Public {
			continue
		}
		for name, tok := range map[string]string{"no token": "", "an expired token": expired, "a revoked token": revoked} {
			rec := f.do(r.Method, path, tok, `{}`)
			if rec.Code != 401 || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") ||
				decodeError(t, rec).Error.Code != 401 {
				t.Errorf("%s %s with %s = %d %s (WWW-Authenticate %q), want 401 with a Bearer challenge",
					r.Method, path, name, rec.Code, rec.Body, rec.Header().Get("WWW-Authenticate"))
			}
		}
		action := identity.Action(strings.Replace(string(r.Action), paramTail, ":stop", 1))
		for _, role := range []string{"admin", "member", "reader"} {
			rec := f.do(r.Method, path, f.tokens[role], `{}`)
			allowed := identity.Allowed(principals[role], action)
			switch {
			case allowed && (rec.Code == 401 || rec.Code == 403):
				t.Errorf("%s %s as %s (%s allowed) = %d %s", r.Method, path, role, action, rec.Code, rec.Body)
			case !allowed && (rec.Code != 403 || !strings.Contains(rec.Body.String(), string(action))):
				t.Errorf("%s %s as %s (%s denied) = %d %s, want 403 naming the action", r.Method, path, role, action, rec.Code, rec.Body)
			}
		}
	}
}

// TestOtherProjectsResourcesAreNotFound: what a member of pb made, a member of pa gets 404 for,
// exactly as for a name that exists nowhere; the owner sees it.
func TestOtherProjectsResourcesAreNotFound(t *testing.T) {
	f := newAuthFixture(t)
	b := f.tokens["memberb"]
	creates := []struct{ path, body, show string }{
		{"/api/v1/networks", `{"name":"nb","kind":"isolated","subnet":{"cidr":"10.9.0.0/24"}}`, "/api/v1/networks/nb"},
		{"/api/v1/ports", `{"name":"portb","network":"nb"}`, "/api/v1/ports/portb"},
		{"/api/v1/security-groups", `{"name":"sgb"}`, "/api/v1/security-groups/sgb"},
		{"/api/v1/volumes", `{"name":"vb","size_gib":1}`, "/api/v1/volumes/vb"},
		{"/api/v1/images", `{"name":"ib","disk_format":"qcow2"}`, "/api/v1/images/ib"},
		{"/api/v1/keypairs", `{"name":"kb"}`, "/api/v1/keypairs/kb"},
		{"/api/v1/credentials", `{"name":"cb"}`, "/api/v1/credentials/cb"},
	}
	for _, c := range creates {
		rec := f.do("POST", c.path, b, c.body)
		if rec.Code != 201 && rec.Code != 202 {
			t.Fatalf("POST %s as memberb = %d %s", c.path, rec.Code, rec.Body)
		}
		var created struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || created.ID == "" {
			t.Fatalf("POST %s: no id in %s", c.path, rec.Body)
		}
		byID := c.path + "/" + created.ID
		for _, path := range []string{c.show, byID} {
			if rec := f.do("GET", path, b, ""); rec.Code != 200 {
				t.Errorf("GET %s as its owner = %d %s", path, rec.Code, rec.Body)
			}
			if rec := f.do("GET", path, f.tokens["member"], ""); rec.Code != 404 {
				t.Errorf("GET %s as a member of another project = %d %s, want 404", path, rec.Code, rec.Body)
			}
			if rec := f.do("DELETE", path, f.tokens["member"], ""); rec.Code != 404 {
				t.Errorf("DELETE %s as a member of another project = %d %s, want 404", path, rec.Code, rec.Body)
			}
		}
		list := f.do("GET", c.path, f.tokens["member"], "")
		if list.Code != 200 || strings.Contains(list.Body.String(), created.ID) {
			t.Errorf("GET %s as a member of another project = %d %s, want 200 without %s", c.path, list.Code, list.Body, created.ID)
		}
	}
	// Instances: none can boot here, so an instance of pb is the same 404 as a missing one; the list
	// is the project's own, empty.
	if rec := f.do("GET", "/api/v1/instances", f.tokens["member"], ""); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("GET /api/v1/instances as member = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/instances/nothing", f.tokens["member"], ""); rec.Code != 404 {
		t.Errorf("GET a missing instance = %d %s", rec.Code, rec.Body)
	}
	// Quotas: one's own project, not another's (404, as for a missing project); admins any.
	for _, tc := range []struct {
		token, path string
		want        int
	}{
		{f.tokens["member"], "/api/v1/quotas/pb", 404},
		{f.tokens["member"], "/api/v1/quotas/nonexistent", 404},
		{f.tokens["member"], "/api/v1/projects/pb", 404},
		{f.tokens["member"], "/api/v1/projects/pa", 200},
		{f.tokens["member"], "/api/v1/users/memberb", 404},
		{f.tokens["member"], "/api/v1/users/member", 200},
		{f.tokens["admin"], "/api/v1/projects/pb", 200},
	} {
		if rec := f.do("GET", tc.path, tc.token, ""); rec.Code != tc.want && !(rec.Code == 503 && strings.Contains(tc.path, "quotas")) {
			t.Errorf("GET %s = %d %s, want %d", tc.path, rec.Code, rec.Body, tc.want)
		}
	}
}

// TestProjectHeader: an admin acts in another project with X-Cloudlet-Project; others get 403.
func TestProjectHeader(t *testing.T) {
	f := newAuthFixture(t)
	if rec := f.do("POST", "/api/v1/security-groups", f.tokens["memberb"], `{"name":"sgb"}`); rec.Code != 201 {
		t.Fatalf("create as memberb = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/security-groups/sgb", f.tokens["admin"], ""); rec.Code != 404 {
		t.Errorf("admin without the header sees pb's group: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/security-groups/sgb", f.tokens["admin"], "", ProjectHeader, "pb"); rec.Code != 200 {
		t.Errorf("admin with %s: pb = %d %s", ProjectHeader, rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/security-groups/sgb", f.tokens["member"], "", ProjectHeader, "pb"); rec.Code != 403 {
		t.Errorf("member with %s: pb = %d %s, want 403", ProjectHeader, rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/security-groups", f.tokens["admin"], "", ProjectHeader, "nonexistent"); rec.Code != 404 {
		t.Errorf("admin with an unknown project = %d %s, want 404", rec.Code, rec.Body)
	}
}

// TestTokenEndpoints: login, the one failure message, listing without secrets, revoking, and
// tokens in the URL refused and never logged.
func TestTokenEndpoints(t *testing.T) {
	f := newAuthFixture(t)
	rec := f.do("POST", "/api/v1/auth/tokens", "", `{"username":"member","password":"`+testUserPassword+`","project":"pa"}`)
	var tok tokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); rec.Code != 201 || err != nil || tok.Token == "" || tok.ID == "" ||
		tok.UserID == "" || tok.ProjectID == "" || tok.ExpiresAt.IsZero() {
		t.Fatalf("login = %d %s", rec.Code, rec.Body)
	}
	for _, body := range []string{
		`{"username":"member","password":"wrong-password-123","project":"pa"}`,
		`{"username":"nobody","password":"wrong-password-123","project":"pa"}`,
		`{"username":"member","password":"` + testUserPassword + `","project":"pb"}`,
	} {
		rec := f.do("POST", "/api/v1/auth/tokens", "", body)
		if rec.Code != 401 || decodeError(t, rec).Error.Message != "invalid username, password or project" {
			t.Errorf("bad login %s = %d %s", body, rec.Code, rec.Body)
		}
	}
	// The token works, in either header.
	for _, h := range []string{"Authorization", "X-Auth-Token"} {
		v := tok.Token
		if h == "Authorization" {
			v = "Bearer " + v
		}
		if rec := f.do("GET", "/api/v1/auth/tokens", "", "", h, v); rec.Code != 200 || strings.Contains(rec.Body.String(), tok.Token) ||
			!strings.Contains(rec.Body.String(), tok.ID) {
			t.Errorf("GET /api/v1/auth/tokens with %s = %d %s", h, rec.Code, rec.Body)
		}
	}
	// In the query string it is refused, even on a public route, and the URL is not logged.
	for _, q := range []string{"?token=", "?auth_token=", "?access_token="} {
		if rec := f.do("GET", "/api/v1/instances"+q+tok.Token, "", ""); rec.Code != 400 {
			t.Errorf("token in %s = %d %s, want 400", q, rec.Code, rec.Body)
		}
		if rec := f.do("GET", "/healthz"+q+tok.Token, "", ""); rec.Code != 400 {
			t.Errorf("/healthz with %s = %d %s, want 400", q, rec.Code, rec.Body)
		}
	}
	// Another user cannot revoke it (404); its owner can, and then it is refused.
	if rec := f.do("DELETE", "/api/v1/auth/tokens/"+tok.ID, f.tokens["memberb"], ""); rec.Code != 404 {
		t.Errorf("revoke another user's token = %d %s, want 404", rec.Code, rec.Body)
	}
	if rec := f.do("DELETE", "/api/v1/auth/tokens/"+tok.ID, tok.Token, ""); rec.Code != 204 {
		t.Errorf("revoke own token = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/instances", tok.Token, ""); rec.Code != 401 {
		t.Errorf("revoked token = %d %s, want 401", rec.Code, rec.Body)
	}
	logged := f.log.String()
	for _, secret := range []string{tok.Token, testUserPassword, f.adminPassword, f.tokens["member"], f.tokens["admin"]} {
		if strings.Contains(logged, secret) {
			t.Errorf("the request log holds a secret %q:\n%s", secret[:8], logged)
		}
	}
	if !strings.Contains(logged, "/api/v1/auth/tokens") {
		t.Errorf("the request log is not being captured:\n%s", logged)
	}
}

// TestLoopbackTrust: loopback without a token is admin only while trusted.
func TestLoopbackTrust(t *testing.T) {
	f := newAuthFixture(t)
	if rec := do(t, f.srv, "GET", "/api/v1/users", loopbackAddr, nil); rec.Code != 401 {
		t.Errorf("untrusted loopback without a token = %d %s, want 401", rec.Code, rec.Body)
	}
	f.srv.opts.LoopbackNeedsToken = false
	if rec := do(t, f.srv, "GET", "/api/v1/users", loopbackAddr, nil); rec.Code != 200 {
		t.Errorf("trusted loopback = %d %s, want 200", rec.Code, rec.Body)
	}
	// A trusted admin without a user owns keypairs as user admin.
	rec := do(t, f.srv, "POST", "/api/v1/keypairs", loopbackAddr, strings.NewReader(`{"name":"k1"}`))
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), "PRIVATE KEY") {
		t.Fatalf("generate keypair over loopback = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/keypairs/k1", f.tokens["admin"], ""); rec.Code != 200 {
		t.Errorf("user admin's keypair k1 = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/keypairs/k1", f.tokens["member"], ""); rec.Code != 404 {
		t.Errorf("another user's keypair = %d %s, want 404", rec.Code, rec.Body)
	}
}

// TestIdentityRoutes: the admin's round trip the CLI makes: project, user, role, login, reset.
func TestIdentityRoutes(t *testing.T) {
	f := newAuthFixture(t)
	a := f.tokens["admin"]
	steps := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/api/v1/projects", `{"name":"p1","description":"first"}`, 201},
		{"PATCH", "/api/v1/projects/p1", `{"description":"renamed"}`, 200},
		{"POST", "/api/v1/users", `{"name":"u1","password":"` + testUserPassword + `","default_project":"p1"}`, 201},
		{"PUT", "/api/v1/projects/p1/users/u1/roles/member", "", 204},
		{"GET", "/api/v1/role-assignments?user=u1&project=p1", "", 200},
		{"PATCH", "/api/v1/users/u1", `{"email":"u1@example.com"}`, 200},
		{"POST", "/api/v1/users/u1/reset-password", "", 200},
		{"DELETE", "/api/v1/projects/p1/users/u1/roles/member", "", 204},
		{"DELETE", "/api/v1/users/u1", "", 204},
		{"DELETE", "/api/v1/projects/p1", "", 204},
	}
	for _, s := range steps {
		if rec := f.do(s.method, s.path, a, s.body); rec.Code != s.want {
			t.Fatalf("%s %s %s = %d %s, want %d", s.method, s.path, s.body, rec.Code, rec.Body, s.want)
		}
	}
	rec := f.do("POST", "/api/v1/credentials", f.tokens["member"], `{"name":"ci","allowed_actions":["instance:list"]}`)
	var cred identity.Credential
	if err := json.Unmarshal(rec.Body.Bytes(), &cred); rec.Code != 201 || err != nil || cred.Secret == "" {
		t.Fatalf("create credential = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/instances", cred.Secret, ""); rec.Code != 200 {
		t.Errorf("list instances with a credential for instance:list = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("POST", "/api/v1/networks", cred.Secret, `{"name":"x"}`); rec.Code != 403 {
		t.Errorf("create with a credential for instance:list only = %d %s, want 403", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/credentials/ci", f.tokens["member"], ""); rec.Code != 200 || strings.Contains(rec.Body.String(), cred.Secret) {
		t.Errorf("show credential = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("DELETE", "/api/v1/credentials/"+cred.ID, f.tokens["admin"], ""); rec.Code != 204 {
		t.Errorf("admin revokes a member's credential by ID = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/instances", cred.Secret, ""); rec.Code != 401 {
		t.Errorf("revoked credential = %d %s, want 401", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/users", f.tokens["member"], ""); rec.Code != 403 || !strings.Contains(rec.Body.String(), "user:list") {
		t.Errorf("member lists users = %d %s, want 403 naming user:list", rec.Code, rec.Body)
	}
}

// TestEventsAreScopedToTheCallersProject: a member reads only its own project's events; an admin all.
func TestEventsAreScopedToTheCallersProject(t *testing.T) {
	f := newAuthFixture(t)
	for token, name := range map[string]string{f.tokens["memberb"]: "evb", f.tokens["member"]: "eva"} {
		if rec := f.do("POST", "/api/v1/security-groups", token, `{"name":"`+name+`"}`); rec.Code != 201 {
			t.Fatalf("create security group %s = %d %s", name, rec.Code, rec.Body)
		}
	}
	ids := map[string]string{}
	for token, name := range map[string]string{f.tokens["memberb"]: "evb", f.tokens["member"]: "eva"} {
		var g struct {
			ID string `json:"id"`
		}
		rec := f.do("GET", "/api/v1/security-groups/"+name, token, "")
		if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil || g.ID == "" {
			t.Fatalf("show %s: %d %s", name, rec.Code, rec.Body)
		}
		ids[name] = g.ID
	}
	member := f.do("GET", "/api/v1/events?since=0", f.tokens["member"], "")
	if member.Code != 200 || !strings.Contains(member.Body.String(), ids["eva"]) || strings.Contains(member.Body.String(), ids["evb"]) {
		t.Errorf("a member's events = %d, want its own group %s and not the other project's %s:\n%s", member.Code, ids["eva"], ids["evb"], member.Body)
	}
	admin := f.do("GET", "/api/v1/events?since=0", f.tokens["admin"], "")
	if admin.Code != 200 || !strings.Contains(admin.Body.String(), ids["eva"]) || !strings.Contains(admin.Body.String(), ids["evb"]) {
		t.Errorf("an admin's events = %d, want both groups", admin.Code)
	}
}

// catalogEvents reads the catalog's event log as the daemon's Events option does.
func catalogEvents(db *store.DB) func(uint64, int) ([]json.RawMessage, error) {
	return func(since uint64, limit int) ([]json.RawMessage, error) {
		evs, err := db.EventsSince(since, limit)
		if err != nil {
			return nil, err
		}
		out := make([]json.RawMessage, 0, len(evs))
		for _, e := range evs {
			raw, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			out = append(out, raw)
		}
		return out, nil
	}
}

// TestHostPathsAreForAdmins: where a volume's and a snapshot's files live on the host is shown to admins
// only (Cinder hides it too); members see the rest of the record.
func TestHostPathsAreForAdmins(t *testing.T) {
	f := newAuthFixture(t)
	b := f.tokens["memberb"]
	if rec := f.do("POST", "/api/v1/volumes", b, `{"name":"vb","size_gib":1}`); rec.Code != 201 {
		t.Fatalf("create volume = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("POST", "/api/v1/volumes/vb/snapshots", b, `{"name":"sb"}`); rec.Code != 201 {
		t.Fatalf("create snapshot = %d %s", rec.Code, rec.Body)
	}
	type files struct {
		Name string `json:"name"`
		Path string `json:"path"`
	}
	for _, path := range []string{"/api/v1/volumes/vb", "/api/v1/snapshots/sb"} {
		var member, admin files
		json.Unmarshal(f.do("GET", path, b, "").Body.Bytes(), &member)
		json.Unmarshal(f.do("GET", path, f.tokens["admin"], "", "X-Cloudlet-Project", "pb").Body.Bytes(), &admin)
		if member.Name == "" || member.Path != "" {
			t.Errorf("GET %s as a member: %+v, want the record without its host path", path, member)
		}
		if admin.Path == "" {
			t.Errorf("GET %s as admin: %+v, want the host path", path, admin)
		}
	}
	list := f.do("GET", "/api/v1/volumes", b, "").Body.String()
	if strings.Contains(list, "/pools/") || strings.Contains(list, ".qcow2") {
		t.Errorf("a member's volume list shows host paths: %s", list)
	}
}

// TestHostDoctorRunsInTheDaemonForAdmins: GET /api/v1/host/doctor answers the checks the daemon
// runs; without a doctor wired it is 503.
func TestHostDoctorRunsInTheDaemonForAdmins(t *testing.T) {
	f := newAuthFixture(t)
	if rec := f.do("GET", "/api/v1/host/doctor", f.tokens["admin"], ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("doctor without a Doctor = %d, want 503", rec.Code)
	}
	f.srv.opts.Doctor = func(context.Context) []host.Check {
		return []host.Check{{Name: "qemu-system-x86_64", Status: host.OK, Detail: "found"}}
	}
	rec := f.do("GET", "/api/v1/host/doctor", f.tokens["admin"], "")
	var checks []host.Check
	if err := json.Unmarshal(rec.Body.Bytes(), &checks); rec.Code != 200 || err != nil || len(checks) != 1 || checks[0].Status != host.OK {
		t.Errorf("doctor = %d %s, want the wired checks", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/host/doctor", f.tokens["member"], ""); rec.Code != http.StatusForbidden {
		t.Errorf("a member asking the doctor = %d, want 403", rec.Code)
	}
}
