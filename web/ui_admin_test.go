package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/host"
	"cloudlet/appliance/identity"
)

// adminPages are the admin pages, each with a phrase only it shows.
var adminPages = map[string]string{
	"/admin":          "Every change anyone made through the API",
	"/admin/projects": "Create a project",
	"/admin/users":    "Create a user",
	"/admin/roles":    "Assign a role",
	"/admin/quotas":   "Quotas of admin",
	"/admin/flavors":  "Create a flavor",
	"/admin/host":     "Doctor's checks",
	"/admin/audit":    "Filter the audit log",
}

func adminBrowser(f *authFixture) *browser {
	b := newBrowser(f)
	b.login("admin", f.adminPassword, "admin", "/overview")
	return b
}

func TestDashboardAdminPagesRenderForAdminsAndRefuseMembers(t *testing.T) {
	f := newAuthFixture(t)
	f.withQuotas(nil)
	admin := adminBrowser(f)
	mustContain(t, "an admin's navigation", admin.do("GET", "/overview", nil).Body.String(), `<a href="/admin">Admin</a>`)
	for path, phrase := range adminPages {
		rec := admin.do("GET", path, nil)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s as admin = %d", path, rec.Code)
		}
		mustContain(t, path, rec.Body.String(), phrase)
	}
	member := newBrowser(f)
	member.login("member", testUserPassword, "pa", "/overview")
	mustNotContain(t, "a member's navigation", member.do("GET", "/overview", nil).Body.String(), `href="/admin"`)
	for path, phrase := range adminPages {
		if path == "/admin/flavors" {
			continue // readable by members (they launch with flavors): see below
		}
		rec := member.do("GET", path, nil)
		if rec.Code != http.StatusForbidden {
			t.Errorf("GET %s as a member = %d, want the API's 403", path, rec.Code)
		}
		mustNotContain(t, path+" as a member", rec.Body.String(), phrase)
		mustContain(t, path+" as a member", rec.Body.String(), `role="alert">`)
	}
	flavors := member.do("GET", "/admin/flavors", nil)
	if flavors.Code != http.StatusOK {
		t.Errorf("GET /admin/flavors as a member = %d, want the read-only list", flavors.Code)
	}
	mustContain(t, "the flavors page as a member", flavors.Body.String(), "<td>m1.tiny</td>")
	mustNotContain(t, "the flavors page as a member", flavors.Body.String(), "Create a flavor", "Delete flavor")
}

// memberForces posts an admin form as a member and expects the API's 403.
func memberForces(t *testing.T, f *authFixture, action string, form url.Values) {
	t.Helper()
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	if rec := b.sendForm("/overview", action, form); rec.Code != http.StatusForbidden {
		t.Errorf("a member's forced POST %s = %d, want 403: %s", action, rec.Code, rec.Body)
	}
}

// named finds, in the API's list at path as admin, the element called name.
func named[T any](f *authFixture, path, name string, nameOf func(T) string) (T, bool) {
	f.t.Helper()
	var list []T
	f.apiJSON(path, f.tokens["admin"], &list)
	for _, e := range list {
		if nameOf(e) == name {
			return e, true
		}
	}
	var zero T
	return zero, false
}

func (f *authFixture) project(name string) (identity.Project, bool) {
	return named(f, "/api/v1/projects", name, func(p identity.Project) string { return p.Name })
}

func TestDashboardAdminProjectsCreateDisableEnableDelete(t *testing.T) {
	f := newAuthFixture(t)
	b := adminBrowser(f)
	if rec := b.sendForm("/admin/projects", "/admin/projects", url.Values{"name": {"lab"}, "description": {"the lab"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	p, ok := f.project("lab")
	if !ok || !p.Enabled || p.Description != "the lab" {
		t.Fatalf("the API's project lab = %+v (%v)", p, ok)
	}
	mustContain(t, "the projects page", b.do("GET", "/admin/projects", nil).Body.String(), "the lab",
		`<span class="state state-active">enabled</span>`, `href="/admin/quotas?project=lab"`)
	if rec := b.sendForm("/admin/projects", "/admin/projects/"+p.ID+"/enabled", url.Values{"enabled": {"false"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("disable = %d %s", rec.Code, rec.Body)
	}
	if p, _ := f.project("lab"); p.Enabled {
		t.Error("the project is still enabled after Disable")
	}
	mustContain(t, "the projects page", b.do("GET", "/admin/projects", nil).Body.String(), `<span class="state state-stopped">disabled</span>`)
	if rec := b.sendForm("/admin/projects", "/admin/projects/"+p.ID+"/enabled", url.Values{"enabled": {"true"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("enable = %d %s", rec.Code, rec.Body)
	}
	if p, _ := f.project("lab"); !p.Enabled {
		t.Error("the project is still disabled after Enable")
	}
	if rec := b.sendForm("/admin/projects", "/admin/projects/"+p.ID+"/delete", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete = %d %s", rec.Code, rec.Body)
	}
	if _, ok := f.project("lab"); ok {
		t.Error("the project is still there after Delete")
	}
}

func TestDashboardAdminProjectsShowTheAPIsErrors(t *testing.T) {
	f := newAuthFixture(t)
	b := adminBrowser(f)
	rec := b.sendForm("/admin/projects", "/admin/projects", url.Values{"name": {"pa"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("create of an existing name = %d, want 422: %s", rec.Code, rec.Body)
	}
	mustContain(t, "the refused create", rec.Body.String(), `role="alert" id="pc-error">`,
		`id="pc-name" name="name" required value="pa" aria-invalid="true" aria-describedby="pc-error"`)
	memberForces(t, f, "/admin/projects", url.Values{"name": {"forced"}})
	if _, ok := f.project("forced"); ok {
		t.Error("a member's forced POST created a project")
	}
}

func (f *authFixture) user(name string) (identity.User, bool) {
	return named(f, "/api/v1/users", name, func(u identity.User) string { return u.Name })
}

var resetPassword = regexp.MustCompile(`<input id="reset-pw" readonly value="([^"]+)"`)

func TestDashboardAdminUsersCreateDisableResetUnlock(t *testing.T) {
	f := newAuthFixture(t)
	b := adminBrowser(f)
	rec := b.sendForm("/admin/users", "/admin/users", url.Values{"name": {"newbie"}, "email": {"newbie@example.org"},
		"password": {testUserPassword}, "default_project": {"pa"}, "enabled": {"true"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	u, ok := f.user("newbie")
	if !ok || !u.Enabled || u.Email != "newbie@example.org" {
		t.Fatalf("the API's user newbie = %+v (%v)", u, ok)
	}
	if rec := b.sendForm("/admin/users", "/admin/users/"+u.ID+"/enabled", url.Values{"enabled": {"false"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("disable = %d %s", rec.Code, rec.Body)
	}
	if u, _ := f.user("newbie"); u.Enabled {
		t.Error("the user is still enabled after Disable")
	}
	member, _ := f.user("member")
	rec = b.sendForm("/admin/users", "/admin/users/"+member.ID+"/reset-password", url.Values{"name": {"member"}})
	m := resetPassword.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("reset password = %d, and no password shown: %s", rec.Code, rec.Body)
	}
	mustContain(t, "the reset's answer", rec.Body.String(), "New password of member")
	if _, err := f.ids.Authenticate(t.Context(), "member", m[1], "pa", ""); err != nil {
		t.Errorf("the shown password does not log member in: %v", err)
	}
	mustNotContain(t, "the users page after the reset", b.do("GET", "/admin/users", nil).Body.String(), m[1])
	if rec := b.sendForm("/admin/users", "/admin/users/"+member.ID+"/unlock", nil); rec.Code != http.StatusSeeOther {
		t.Errorf("unlock = %d %s", rec.Code, rec.Body)
	}
	if rec := b.sendForm("/admin/users", "/admin/users/"+u.ID+"/delete", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete = %d %s", rec.Code, rec.Body)
	}
	if _, ok := f.user("newbie"); ok {
		t.Error("the user is still there after Delete")
	}
}

func TestDashboardAdminUsersShowTheAPIsErrors(t *testing.T) {
	f := newAuthFixture(t)
	b := adminBrowser(f)
	rec := b.sendForm("/admin/users", "/admin/users", url.Values{"name": {"shorty"}, "password": {"short"}, "enabled": {"true"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("create with a short password = %d, want 422: %s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	mustContain(t, "the refused create", page, `role="alert" id="uc-error">create user`, `value="shorty"`,
		`name="password" type="password" required autocomplete="new-password" aria-invalid="true" aria-describedby="uc-error"`)
	mustNotContain(t, "the refused create", page, `value="short"`)
	member, _ := f.user("member")
	memberForces(t, f, "/admin/users/"+member.ID+"/reset-password", nil)
	memberForces(t, f, "/admin/users", url.Values{"name": {"forced"}, "password": {testUserPassword}})
	if _, ok := f.user("forced"); ok {
		t.Error("a member's forced POST created a user")
	}
}

func (f *authFixture) hasRole(user, project, role string) bool {
	var as []identity.RoleAssignment
	f.apiJSON("/api/v1/role-assignments?user="+user+"&project="+project, f.tokens["admin"], &as)
	return slices.ContainsFunc(as, func(a identity.RoleAssignment) bool { return a.Role == role })
}

func TestDashboardAdminRolesAssignAndUnassign(t *testing.T) {
	f := newAuthFixture(t)
	b := adminBrowser(f)
	reader, _ := f.user("reader")
	pb, _ := f.project("pb")
	page := b.do("GET", "/admin/roles", nil).Body.String()
	mustContain(t, "the roles page", page, "<td>member</td><td>pa</td><td>member</td>", "<td>reader</td><td>pa</td><td>reader</td>")
	rec := b.sendForm("/admin/roles", "/admin/roles", url.Values{"user": {reader.ID}, "project": {pb.ID}, "role": {"member"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("assign = %d %s", rec.Code, rec.Body)
	}
	if !f.hasRole("reader", "pb", "member") {
		t.Fatal("the API has no member role of reader on pb after Assign")
	}
	mustContain(t, "the roles page", b.do("GET", "/admin/roles", nil).Body.String(), "<td>reader</td><td>pb</td><td>member</td>", "Take role member on pb from reader?")
	rec = b.sendForm("/admin/roles", "/admin/roles/unassign", url.Values{"user": {reader.ID}, "project": {pb.ID}, "role": {"member"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("unassign = %d %s", rec.Code, rec.Body)
	}
	if f.hasRole("reader", "pb", "member") {
		t.Error("the role is still assigned after Unassign")
	}
	rec = b.sendForm("/admin/roles", "/admin/roles", url.Values{"user": {reader.ID}, "project": {pb.ID}, "role": {"owner"}})
	if rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusNotFound {
		t.Fatalf("assign of an unknown role = %d, want a refusal: %s", rec.Code, rec.Body)
	}
	mustContain(t, "the refused assign", rec.Body.String(), `role="alert" id="ra-error">`)
	memberForces(t, f, "/admin/roles", url.Values{"user": {reader.ID}, "project": {pb.ID}, "role": {"member"}})
	if f.hasRole("reader", "pb", "member") {
		t.Error("a member's forced POST assigned a role")
	}
}

func (f *authFixture) quota(project, resource string) identity.QuotaUsage {
	var r identity.QuotaReport
	f.apiJSON("/api/v1/quotas/"+project, f.tokens["admin"], &r)
	return r.Quotas[resource]
}

func TestDashboardAdminQuotasShowSetAndReset(t *testing.T) {
	f := newAuthFixture(t)
	f.withQuotas(map[string]int64{identity.QuotaInstances: 2})
	b := adminBrowser(f)
	page := b.do("GET", "/admin/quotas?project=pa", nil).Body.String()
	mustContain(t, "the quotas page", page, "Quotas of pa", `<label for="q-instances">Instances</label>`, `<td>2 <meter min="0" max="10" value="2"`, "20%",
		`name="limit_instances" inputmode="numeric" value="10"`)
	rec := b.sendForm("/admin/quotas?project=pa", "/admin/quotas/pa", url.Values{"limit_instances": {"5"}, "was_instances": {"10"},
		"limit_cores": {"20"}, "was_cores": {"20"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/quotas?project=pa" {
		t.Fatalf("set = %d to %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if got := f.quota("pa", identity.QuotaInstances); got.Limit != 5 {
		t.Errorf("the API's instances limit of pa = %d, want 5", got.Limit)
	}
	if got := f.quota("pb", identity.QuotaInstances); got.Limit != 10 {
		t.Errorf("setting pa's quota changed pb's to %d", got.Limit)
	}
	rec = b.sendForm("/admin/quotas?project=pa", "/admin/quotas/pa", url.Values{"limit_cores": {"lots"}, "was_cores": {"20"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("set to a word = %d, want 422: %s", rec.Code, rec.Body)
	}
	mustContain(t, "the refused set", rec.Body.String(), `role="alert" id="q-error">the limit of cores must be a whole number`,
		`name="limit_cores" inputmode="numeric" value="lots" aria-invalid="true" aria-describedby="q-error"`)
	rec = b.sendForm("/admin/quotas?project=pa", "/admin/quotas/pa", url.Values{"limit_volumes": {"-7"}, "was_volumes": {"10"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("set to -7 = %d, want the API's refusal as 422: %s", rec.Code, rec.Body)
	}
	mustContain(t, "the API's refusal", rec.Body.String(), `role="alert" id="q-error">`)
	if rec := b.sendForm("/admin/quotas?project=pa", "/admin/quotas/pa/reset", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("reset = %d %s", rec.Code, rec.Body)
	}
	if got := f.quota("pa", identity.QuotaInstances); got.Limit != 10 {
		t.Errorf("the instances limit after Reset = %d, want the default 10", got.Limit)
	}
	memberForces(t, f, "/admin/quotas/pa", url.Values{"limit_instances": {"99"}})
	if got := f.quota("pa", identity.QuotaInstances); got.Limit != 10 {
		t.Errorf("a member's forced POST set the limit to %d", got.Limit)
	}
}

func (f *authFixture) flavor(name string) (compute.Flavor, bool) {
	return named(f, "/api/v1/flavors", name, func(fl compute.Flavor) string { return fl.Name })
}

func TestDashboardAdminFlavorsCreateAndDelete(t *testing.T) {
	f := newAuthFixture(t)
	b := adminBrowser(f)
	rec := b.sendForm("/admin/flavors", "/admin/flavors", url.Values{"name": {"x1.big"}, "vcpus": {"8"}, "ram_mib": {"16384"},
		"disk_gib": {"100"}, "public": {"true"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	fl, ok := f.flavor("x1.big")
	if !ok || fl.VCPUs != 8 || fl.RAMMiB != 16384 || fl.DiskGiB != 100 || !fl.Public {
		t.Fatalf("the API's flavor x1.big = %+v (%v)", fl, ok)
	}
	mustContain(t, "the flavors page", b.do("GET", "/admin/flavors", nil).Body.String(), "<td>x1.big</td><td>8</td><td>16384 MiB</td>")
	if rec := b.sendForm("/admin/flavors", "/admin/flavors/"+fl.ID+"/delete", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete = %d %s", rec.Code, rec.Body)
	}
	if _, ok := f.flavor("x1.big"); ok {
		t.Error("the flavor is still there after Delete")
	}
}

func TestDashboardAdminFlavorsShowTheAPIsErrors(t *testing.T) {
	f := newAuthFixture(t)
	b := adminBrowser(f)
	rec := b.sendForm("/admin/flavors", "/admin/flavors", url.Values{"name": {"x1.none"}, "vcpus": {"0"}, "ram_mib": {"512"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("create with 0 vCPUs = %d, want 422: %s", rec.Code, rec.Body)
	}
	mustContain(t, "the refused create", rec.Body.String(), `role="alert" id="fc-error">`, `value="x1.none"`)
	memberForces(t, f, "/admin/flavors", url.Values{"name": {"forced"}, "vcpus": {"1"}, "ram_mib": {"64"}})
	if _, ok := f.flavor("forced"); ok {
		t.Error("a member's forced POST created a flavor")
	}
}

func TestDashboardAdminHostShowsFactsAndChecks(t *testing.T) {
	f := newAuthFixture(t)
	f.srv.opts.Doctor = func(context.Context) []host.Check {
		return []host.Check{{Name: "acceleration", Status: host.Warn, Detail: "tcg: using TCG", Hint: "enable KVM"},
			{Name: "bridge module", Status: host.Fail, Detail: "br_netfilter missing", Hint: "modprobe br_netfilter"}}
	}
	b := adminBrowser(f)
	page := b.do("GET", "/admin/host", nil).Body.String()
	mustContain(t, "the host page", page, "Guests run under TCG", "<dt>Version</dt><dd>test</dd>",
		`<td>acceleration</td><td><span class="state check-warn">warn</span></td><td>tcg: using TCG</td><td>enable KVM</td>`,
		`<td>bridge module</td><td><span class="state check-fail">fail</span></td><td>br_netfilter missing</td>`,
		"sudo cloudlet doctor", "usage sampling is off")
}

// TestDashboardAdminHostSaysWhenTheDoctorIsUnavailable: the API's refusal of the doctor's route
// shows on the page, which still renders the facts.
func TestDashboardAdminHostSaysWhenTheDoctorIsUnavailable(t *testing.T) {
	f := newAuthFixture(t) // no Doctor: the API answers 503
	page := adminBrowser(f).do("GET", "/admin/host", nil).Body.String()
	mustContain(t, "the host page", page, "<dt>Version</dt><dd>test</dd>", "the doctor&#39;s checks are not available")
}

func TestDashboardAdminAuditShowsTheNewestAndPagesFromTheBeginning(t *testing.T) {
	f := newAuthFixture(t)
	for i := range 51 {
		if rec := f.do("POST", "/api/v1/flavors", f.tokens["admin"], fmt.Sprintf(`{"name":"au.%d","vcpus":1,"ram_mib":64,"disk_gib":1}`, i)); rec.Code != http.StatusCreated {
			t.Fatalf("create flavor = %d %s", rec.Code, rec.Body)
		}
	}
	f.do("POST", "/api/v1/projects", f.tokens["admin"], `{"name":"newest"}`)
	created := regexp.MustCompile(`<code>flavor:create</code>`)
	b := adminBrowser(f)
	page := b.do("GET", "/admin/audit", nil).Body.String()
	if i, j := strings.Index(page, "<code>project:create</code>"), strings.Index(page, "<code>flavor:create</code>"); i < 0 || j < 0 || i > j {
		t.Errorf("the audit page does not start with the newest entry (project:create at %d, flavor:create at %d)", i, j)
	}
	if n := strings.Count(page, "<td><time datetime="); n != 50 {
		t.Errorf("the newest page shows %d entries, want 50", n)
	}
	page = b.do("GET", "/admin/audit?action=flavor:create&since=0", nil).Body.String()
	if n := len(created.FindAllStringIndex(page, -1)); n != 50 {
		t.Errorf("the first page shows %d flavor:create entries, want 50", n)
	}
	mustNotContain(t, "a page filtered to flavor:create", page, "<code>project:create</code>")
	mustContain(t, "the first page", page, `href="/admin/audit?action=flavor%3Acreate">Newest</a>`)
	next := regexp.MustCompile(`<a class="button" href="(/admin/audit\?[^"]+)" rel="next">`).FindStringSubmatch(page)
	if next == nil {
		t.Fatalf("the first page has no next page link:\n%s", page)
	}
	u := html2url(next[1])
	page = b.do("GET", u, nil).Body.String()
	if n := len(created.FindAllStringIndex(page, -1)); n != 1 {
		t.Errorf("the second page (%s) shows %d flavor:create entries, want 1", u, n)
	}
	mustContain(t, "the second page", page, "<code>POST /api/v1/flavors</code>", `<span class="state state-active">201</span>`)
	mustNotContain(t, "the last page", page, `rel="next"`)
}

// html2url undoes the HTML escaping of a URL in an attribute.
func html2url(s string) string {
	return regexp.MustCompile(`&amp;`).ReplaceAllString(s, "&")
}
