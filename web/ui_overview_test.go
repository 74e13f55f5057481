package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"cloudlet/appliance/identity"
)

// sendForm posts form to action with the CSRF token of page, as the page's form would.
func (b *browser) sendForm(page, action string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.csrf(page))
	return b.do("POST", action, form)
}

// apiJSON reads an API answer as token into out, failing the test unless it is 200.
func (f *authFixture) apiJSON(path, token string, out any) {
	f.t.Helper()
	rec := f.do("GET", path, token, "")
	if rec.Code != http.StatusOK {
		f.t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
}

// withQuotas gives the fixture's API the quota routes over its identity service, with usage.
func (f *authFixture) withQuotas(usage map[string]int64) {
	f.srv.opts.Quotas = identityQuotas{id: f.ids, usage: usage}
}

func TestDashboardOverviewShowsTheProjectsQuotaAsBarsInWords(t *testing.T) {
	f := newAuthFixture(t)
	f.withQuotas(map[string]int64{identity.QuotaInstances: 2, identity.QuotaCores: 3})
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	rec := b.do("GET", "/overview", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /overview = %d %s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	mustContain(t, "the overview", page, "Quota of pa",
		`<meter aria-labelledby="q-instances" min="0" max="10" value="2"`, "2 of 10 used (20%)",
		"vCPUs", "3 of 20 used", "RAM (MiB)", "Volumes", "Volume storage (GiB)", "Floating IPs",
		"Add a real cloud image", "cloudlet image import")
	mustNotContain(t, "a member's overview", page, "Host", "TCG")
}

func TestDashboardOverviewShowsTheQuotaErrorAndStillRenders(t *testing.T) {
	f := newAuthFixture(t) // no quota routes: the API answers 503
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	rec := b.do("GET", "/overview", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /overview = %d %s", rec.Code, rec.Body)
	}
	mustContain(t, "the overview", rec.Body.String(), `role="alert">quotas are not configured on this server`, "Recent events")
}

func TestDashboardOverviewShowsAdminsTheHostWithTheTCGWarning(t *testing.T) {
	f := newAuthFixture(t)
	f.withQuotas(nil)
	b := newBrowser(f)
	b.login("admin", f.adminPassword, "admin", "/overview")
	page := b.do("GET", "/overview", nil).Body.String()
	mustContain(t, "an admin's overview", page, `<h2 id="host-h">Host</h2>`,
		"Guests run under TCG — software emulation", "using TCG", "The data directory <code>/data</code> is on this disk", "60 B of 100 B used",
		`href="/admin/host"`)
}

func TestDashboardOverviewListsTheNewestEventsInWords(t *testing.T) {
	f := newAuthFixture(t)
	f.withQuotas(nil)
	var ids []string
	for i := range 12 {
		rec := f.do("POST", "/api/v1/flavors", f.tokens["admin"], fmt.Sprintf(`{"name":"ev.%d","vcpus":1,"ram_mib":64,"disk_gib":1}`, i))
		if rec.Code != http.StatusCreated {
			t.Fatalf("create flavor ev.%d = %d %s", i, rec.Code, rec.Body)
		}
		var fl struct{ ID string }
		_ = json.Unmarshal(rec.Body.Bytes(), &fl)
		ids = append(ids, fl.ID)
	}
	if rec := f.do("DELETE", "/api/v1/flavors/"+ids[0], f.tokens["admin"], ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete flavor = %d %s", rec.Code, rec.Body)
	}
	b := newBrowser(f)
	b.login("admin", f.adminPassword, "admin", "/overview")
	page := b.do("GET", "/overview", nil).Body.String()
	// The newest ten: ev.0 deleted, then ev.11 … ev.3 created.
	deleted, newest, oldest := strings.Index(page, "flavor "+ids[0][:8]+" deleted"),
		strings.Index(page, "flavor "+ids[11][:8]+" created"), strings.Index(page, "flavor "+ids[3][:8]+" created")
	if deleted < 0 || newest < 0 || oldest < 0 || !(deleted < newest && newest < oldest) {
		t.Errorf("the overview's events are not the newest first in words (at %d, %d, %d):\n%s", deleted, newest, oldest, page)
	}
	if n := strings.Count(page, "<time datetime="); n != 10 || strings.Contains(page, ids[2][:8]) {
		t.Errorf("the overview lists %d events (ev.2's: %v), want the newest 10", n, strings.Contains(page, ids[2][:8]))
	}
}

func TestDashboardOverviewNamesAnEventsResourceWhenTheEventDoes(t *testing.T) {
	f := newAuthFixture(t)
	f.withQuotas(nil)
	if rec := f.do("POST", "/api/v1/images", f.tokens["member"], `{"name":"deb12","disk_format":"qcow2"}`); rec.Code != http.StatusCreated {
		t.Fatalf("create image = %d %s", rec.Code, rec.Body)
	}
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	mustContain(t, "a member's overview", b.do("GET", "/overview", nil).Body.String(), "<span>image deb12 created</span>")
}
