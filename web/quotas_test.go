package web

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"cloudlet/appliance/identity"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

// identityQuotas serves the quota routes from a real identity service, with a fixed usage standing in
// for the services' counts.
type identityQuotas struct {
	id    *identity.Service
	usage map[string]int64
}

func (q identityQuotas) count(context.Context, string) (map[string]int64, error) { return q.usage, nil }

func (q identityQuotas) Report(ctx context.Context, project string) (*identity.QuotaReport, error) {
	return q.id.Report(ctx, project, q.count)
}

func (q identityQuotas) SetLimits(ctx context.Context, project string, limits map[string]int64) (*identity.QuotaReport, error) {
	if _, err := q.id.SetLimits(ctx, project, limits); err != nil {
		return nil, err
	}
	return q.Report(ctx, project)
}

func (q identityQuotas) ResetLimits(ctx context.Context, project string) (*identity.QuotaReport, error) {
	if _, err := q.id.ResetLimits(ctx, project); err != nil {
		return nil, err
	}
	return q.Report(ctx, project)
}

// newQuotaServer is the test server with quotas over a bootstrapped identity; the default project is admin.
func newQuotaServer(t *testing.T) *Server {
	t.Helper()
	db := testkit.Catalog(t, "", store.Options{})
	id := identity.New(db)
	if _, err := id.Bootstrap(filepath.Join(t.TempDir(), "admin-password")); err != nil {
		t.Fatal(err)
	}
	admin, err := id.AdminProjectID()
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t)
	s.opts.Quotas = identityQuotas{id: id, usage: map[string]int64{identity.QuotaInstances: 2, identity.QuotaCores: 3}}
	s.opts.DefaultProject = admin
	return s
}

func TestQuotaRoutes(t *testing.T) {
	s := newQuotaServer(t)
	report := func(method, path, body string, want int) identity.QuotaReport {
		t.Helper()
		rec := do(t, s, method, path, loopbackAddr, strings.NewReader(body))
		if rec.Code != want {
			t.Fatalf("%s %s %s = %d %s, want %d", method, path, body, rec.Code, rec.Body, want)
		}
		var r identity.QuotaReport
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body)
		}
		return r
	}
	r := report("PUT", "/api/v1/quotas/admin", `{"limits":{"instances":2,"ram":-1}}`, 200)
	if got := r.Quotas["instances"]; got != (identity.QuotaUsage{Limit: 2, InUse: 2}) {
		t.Errorf("instances after PUT: %+v, want limit 2, in use 2", got)
	}
	for _, path := range []string{"/api/v1/quotas/admin", "/api/v1/quotas/" + r.ProjectID, "/api/v1/quotas"} {
		r := report("GET", path, "", 200)
		if r.Project != "admin" || r.Quotas["ram"].Limit != -1 || r.Quotas["cores"] != (identity.QuotaUsage{Limit: 20, InUse: 3}) ||
			len(r.Quotas) != len(identity.QuotaResources()) {
			t.Errorf("GET %s = %+v", path, r)
		}
	}
	r = report("DELETE", "/api/v1/quotas/admin", "", 200)
	if r.Quotas["instances"].Limit != 10 || r.Quotas["ram"].Limit != 51200 {
		t.Errorf("after DELETE: %+v, want the defaults", r.Quotas)
	}

	for _, tc := range []struct {
		method, path, body string
		want               int
		contains           string
	}{
		{"PUT", "/api/v1/quotas/admin", `{"limits":{"gpus":1}}`, 400, `unknown quota resource \"gpus\"`},
		{"PUT", "/api/v1/quotas/admin", `{"limits":{"ports":-2}}`, 400, "-1 (unlimited) or more"},
		{"PUT", "/api/v1/quotas/admin", `{"limits":{"ports":1.5}}`, 400, "int64"},
		{"PUT", "/api/v1/quotas/admin", `{"limits":{}}`, 400, "no limits given"},
		{"PUT", "/api/v1/quotas/admin", `{"instances":2}`, 400, "unknown field"},
		{"PUT", "/api/v1/quotas/nope", `{"limits":{"ports":1}}`, 404, "nope"},
		{"GET", "/api/v1/quotas/nope", ``, 404, "nope"},
	} {
		rec := do(t, s, tc.method, tc.path, loopbackAddr, strings.NewReader(tc.body))
		if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("%s %s %s = %d %s, want %d naming %q", tc.method, tc.path, tc.body, rec.Code, rec.Body, tc.want, tc.contains)
		}
	}
}

func TestQuotaRouteAccess(t *testing.T) {
	s := newQuotaServer(t)
	want := map[string]Access{
		"GET /api/v1/quotas":             Member,
		"GET /api/v1/quotas/:project":    Member,
		"PUT /api/v1/quotas/:project":    Admin,
		"DELETE /api/v1/quotas/:project": Admin,
	}
	for _, r := range s.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/quotas") {
			continue
		}
		key := r.Method + " " + r.Path
		if r.Access != want[key] {
			t.Errorf("%s is %s, want %s", key, r.Access, want[key])
		}
		delete(want, key)
	}
	if len(want) != 0 {
		t.Errorf("routes missing: %v", want)
	}
}

func TestQuotaRoutesWithoutQuotasAnswer503(t *testing.T) {
	s := newTestServer(t)
	if rec := do(t, s, "GET", "/api/v1/quotas/admin", loopbackAddr, nil); rec.Code != 503 {
		t.Errorf("GET without quotas = %d %s, want 503", rec.Code, rec.Body)
	}
}
