package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/identity"
	"cloudlet/appliance/metering"
	"cloudlet/images"
	"cloudlet/store"
	"cloudlet/web/client"
)

// putInstance stores an instance of project in the catalog as a booted one would be (QEMU never
// runs in this fixture), in state, and returns it.
func (f *authFixture) putInstance(project, name string, state compute.VMState) compute.Instance {
	f.t.Helper()
	inst := listedInstance(name)
	inst.ProjectID, inst.VMState = f.projectID(project), state
	kind := store.NewKind[compute.Instance](store.BucketInstances, store.ScopeProject)
	if err := f.db.Update(func(tx *store.Tx) error { return kind.Create(tx, &inst) }); err != nil {
		f.t.Fatal(err)
	}
	return inst
}

// putImage stores an active image of project in the catalog and returns it.
func (f *authFixture) putImage(project, name string) images.Image {
	f.t.Helper()
	img := images.Image{Meta: store.Meta{Name: name, ProjectID: f.projectID(project)}, Status: images.StatusActive,
		DiskFormat: images.FormatQcow2, ContainerFormat: images.ContainerBare, Size: 1 << 20, Visibility: images.VisibilityPrivate}
	kind := store.NewKind[images.Image](store.BucketImages, store.ScopeProject)
	if err := f.db.Update(func(tx *store.Tx) error { return kind.Create(tx, &img) }); err != nil {
		f.t.Fatal(err)
	}
	return img
}

func (f *authFixture) putFlavor(name string, vcpus int) compute.Flavor {
	f.t.Helper()
	fl, err := f.srv.opts.Compute.CreateFlavor(context.Background(),
		compute.Flavor{Meta: store.Meta{Name: name}, VCPUs: vcpus, RAMMiB: 256, DiskGiB: 1, Public: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return *fl
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, body)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s has %q, which it must not:\n%s", what, w, body)
		}
	}
}

func TestDashboardInstancesListShowsLiveRowsOfTheProjectOnly(t *testing.T) {
	f := newAuthFixture(t)
	a := f.putInstance("pa", "web-1", compute.VMActive)
	b := f.putInstance("pb", "other", compute.VMStopped)
	m := newBrowser(f)
	m.login("member", testUserPassword, "pa", "/instances")
	rec := m.do("GET", "/instances", nil)
	if rec.Code != 200 {
		t.Fatalf("GET /instances = %d %s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	mustContain(t, "the member's list", page,
		`id="i-`+a.ID+`" data-state="active"`,
		`hx-get="/instances/`+a.ID+`/row" hx-trigger="sse:instance-`+a.ID+`"`,
		`hx-trigger="sse:instance-changed, sse:resync, htmx:sseOpen from:body"`,
		`<span class="state state-active">active</span>`, "10.0.0.10", "m1.tiny",
		`src="/instances/`+a.ID+`/screenshot?s=active" alt="Screen of web-1"`, `loading="lazy"`,
		`href="/instances/new"`, `hx-post="/instances/`+a.ID+`/pause"`,
		`href="/instances/`+a.ID+`/confirm?action=delete&amp;next=/instances"`, `<th scope="col">State</th>`)
	mustNotContain(t, "the member's list", page, b.ID, "other", `/instances/`+a.ID+`/start"`)

	row := m.do("GET", "/instances/"+a.ID+"/row", nil, "HX-Request", "true")
	if row.Code != 200 || !strings.HasPrefix(strings.TrimSpace(row.Body.String()), `<tr id="i-`+a.ID+`" data-state="active"`) {
		t.Errorf("GET the row = %d %s, want the row alone", row.Code, row.Body)
	}
	if gone := m.do("GET", "/instances/"+b.ID+"/row", nil, "HX-Request", "true"); gone.Code != 200 || gone.Body.Len() != 0 {
		t.Errorf("another project's row = %d %q, want an empty answer (the row goes)", gone.Code, gone.Body)
	}

	r := newBrowser(f)
	r.login("reader", testUserPassword, "pa", "/instances")
	list := r.do("GET", "/instances", nil).Body.String()
	mustContain(t, "the reader's list", list, `id="i-`+a.ID+`"`)
	mustNotContain(t, "the reader's list", list, `href="/instances/new"`, "/pause", "action=delete", "/screenshot")
}

func TestDashboardInstanceActionsAskTheAPIAndShowItsAnswer(t *testing.T) {
	f := newAuthFixture(t)
	inst := f.putInstance("pa", "web-1", compute.VMStopped)
	m := newBrowser(f)
	m.login("member", testUserPassword, "pa", "/instances")
	token := m.csrf("/instances")

	refused := m.do("POST", "/instances/"+inst.ID+"/pause", url.Values{"csrf_token": {token}}, "HX-Request", "true")
	if refused.Code != http.StatusUnprocessableEntity {
		t.Fatalf("pausing a stopped instance = %d %s, want 422 with the API's refusal in the row", refused.Code, refused.Body)
	}
	mustContain(t, "the refused action's row", refused.Body.String(), `<tr id="i-`+inst.ID+`" data-state="stopped"`, `role="alert"`)

	confirm := m.do("GET", "/instances/"+inst.ID+"/confirm?action=delete&next=/instances", nil)
	mustContain(t, "the delete confirmation", confirm.Body.String(), "Delete instance web-1?",
		`action="/instances/`+inst.ID+`/delete"`, `name="next" value="/instances"`)

	r := newBrowser(f)
	r.login("reader", testUserPassword, "pa", "/instances")
	if rec := r.do("POST", "/instances/"+inst.ID+"/delete", url.Values{"csrf_token": {r.csrf("/instances")}, "next": {"/instances"}}); rec.Code != http.StatusForbidden {
		t.Errorf("a reader's forced delete = %d, want the API's 403", rec.Code)
	}
	// Without JavaScript the form posts and the API's refusal comes back as a page with the error.
	plain := m.do("POST", "/instances/"+inst.ID+"/pause", url.Values{"csrf_token": {token}, "next": {"/instances"}})
	if plain.Code != http.StatusConflict {
		t.Fatalf("a plain form's refused pause = %d %s, want the API's 409", plain.Code, plain.Body)
	}
	mustContain(t, "the refused pause's page", plain.Body.String(), `role="alert"`, `action="/instances/`+inst.ID+`/pause"`)
	if rec := f.do("GET", "/api/v1/instances/"+inst.ID, f.tokens["member"], ""); !strings.Contains(rec.Body.String(), `"vm_state":"stopped"`) {
		t.Errorf("after the refused actions the API shows %s", rec.Body)
	}
}

func TestDashboardLaunchWizardChecksEachStepOnTheServer(t *testing.T) {
	f := newAuthFixture(t)
	f.putInstance("pa", "taken", compute.VMStopped)
	img := f.putImage("pa", "tiny")
	fl := f.putFlavor("small", 2)
	huge := f.putFlavor("huge", 20)
	f.srv.opts.Quotas = identityQuotas{id: f.ids, usage: map[string]int64{identity.QuotaInstances: 1, identity.QuotaCores: 1}}
	m := newBrowser(f)
	m.login("member", testUserPassword, "pa", "/instances/new")
	page := m.do("GET", "/instances/new", nil).Body.String()
	mustContain(t, "the wizard", page, `<legend>1. Name</legend>`, `hx-post="/instances/new/validate?step=1"`,
		`<option value="`+img.ID+`">tiny`, `<option value="`+fl.ID+`">small: 2 vCPU`, `<legend>7. User data and password</legend>`,
		`action="/instances"`, `name="csrf_token"`)
	for _, tc := range []struct{ name, want string }{{"Bad Name", "Use letters, digits"}, {"taken", "exists already"}, {"", "Give the instance a name"}} {
		rec := m.do("POST", "/instances/new/validate?step=1", url.Values{"name": {tc.name}}, "HX-Request", "true", "X-CSRF-Token", m.csrf("/instances/new"))
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("step 1 with name %q = %d, want 422", tc.name, rec.Code)
		}
		mustContain(t, "step 1 with name "+tc.name, rec.Body.String(), `<fieldset id="step-1"`, tc.want,
			`aria-invalid="true" aria-describedby="name-error name-hint"`, `id="name-error"`)
	}
	ok := m.do("POST", "/instances/new/validate?step=1", url.Values{"name": {"web-2"}}, "X-CSRF-Token", m.csrf("/instances/new"))
	if ok.Code != 200 || strings.Contains(ok.Body.String(), "name-error") {
		t.Errorf("step 1 with a good name = %d %s", ok.Code, ok.Body)
	}
	flavor := m.do("POST", "/instances/new/validate?step=3", url.Values{"flavor": {fl.ID}}, "X-CSRF-Token", m.csrf("/instances/new"))
	mustContain(t, "step 3", flavor.Body.String(), "2 of 10 instances after launch", "3 of 20 vCPUs after launch")
	if flavor.Code != 200 {
		t.Errorf("step 3 = %d", flavor.Code)
	}
	over := m.do("POST", "/instances/new/validate?step=3", url.Values{"flavor": {huge.ID}}, "X-CSRF-Token", m.csrf("/instances/new"))
	if over.Code != http.StatusUnprocessableEntity {
		t.Errorf("step 3 with a flavor past the quota = %d, want 422", over.Code)
	}
	mustContain(t, "step 3 past the quota", over.Body.String(), `id="flavor-error"`, "21 of 20 vCPUs after launch")
	source := m.do("POST", "/instances/new/validate?step=2", url.Values{"source": {"image"}, "image": {"nope"}}, "X-CSRF-Token", m.csrf("/instances/new"))
	if source.Code != http.StatusUnprocessableEntity || !strings.Contains(source.Body.String(), `id="image-error"`) {
		t.Errorf("step 2 with an unknown image = %d %s", source.Code, source.Body)
	}
	review := m.do("POST", "/instances/new/validate?step=8", url.Values{"name": {"web-2"}, "image": {img.ID}, "flavor": {fl.ID},
		"password": {"a"}, "password_again": {"b"}}, "X-CSRF-Token", m.csrf("/instances/new"))
	if review.Code != http.StatusUnprocessableEntity {
		t.Errorf("review with differing passwords = %d", review.Code)
	}
	mustContain(t, "the review", review.Body.String(), "The two passwords differ", "<dd>image tiny</dd>", "<dd>small</dd>")
}

func TestDashboardLaunchPostsOnceToTheAPIAndShowsItsError(t *testing.T) {
	f := newAuthFixture(t)
	img := f.putImage("pa", "tiny")
	fl := f.putFlavor("small", 1)
	m := newBrowser(f)
	m.login("member", testUserPassword, "pa", "/instances/new")
	token := m.csrf("/instances/new")
	bad := m.do("POST", "/instances", url.Values{"csrf_token": {token}, "name": {"x,y"}, "image": {img.ID}, "flavor": {fl.ID}})
	if bad.Code != http.StatusUnprocessableEntity {
		t.Fatalf("launch with a bad name = %d, want 422", bad.Code)
	}
	mustContain(t, "the refused launch", bad.Body.String(), `role="alert"`, `id="name-error"`, `value="x,y"`)
	// The fixture's compute has no image store, so the API refuses the launch: its message shows.
	rec := m.do("POST", "/instances", url.Values{"csrf_token": {token}, "name": {"web-1"}, "image": {img.ID}, "flavor": {fl.ID}})
	if rec.Code < 400 || !strings.Contains(rec.Body.String(), "The instance was not launched: ") || !strings.Contains(rec.Body.String(), "unknown image") {
		t.Errorf("a launch the API refuses = %d %s", rec.Code, rec.Body)
	}
	r := newBrowser(f)
	r.login("reader", testUserPassword, "pa", "/instances")
	forced := r.do("POST", "/instances", url.Values{"csrf_token": {r.csrf("/instances")}, "name": {"web-1"}, "image": {img.ID}, "flavor": {fl.ID}})
	if forced.Code != http.StatusForbidden {
		t.Errorf("a reader's forced launch = %d, want the API's 403", forced.Code)
	}
}

func TestDashboardInstanceDetailHasLiveStateAndTabs(t *testing.T) {
	f := newAuthFixture(t)
	inst := f.putInstance("pa", "web-1", compute.VMStopped)
	m := newBrowser(f)
	m.login("member", testUserPassword, "pa", "/instances")
	page := m.do("GET", "/instances/"+inst.ID, nil)
	if page.Code != 200 {
		t.Fatalf("GET the detail page = %d %s", page.Code, page.Body)
	}
	mustContain(t, "the overview", page.Body.String(), `<p id="i-`+inst.ID+`" class="status" data-state="stopped"`,
		`hx-get="/instances/`+inst.ID+`/status" hx-trigger="sse:instance-`+inst.ID+`, htmx:sseOpen from:body"`,
		`<section id="tab" class="card" aria-label="overview" hx-get="/instances/`+inst.ID+`/tab?tab=overview" hx-trigger="sse:instance-`+inst.ID+`, htmx:sseOpen from:body"`,
		`href="/instances/`+inst.ID+`/console"`, `href="/instances/`+inst.ID+`/screen"`,
		`aria-current="page">Overview`, "m1.tiny", "<dt>Flavor</dt>", `action="/instances/`+inst.ID+`/start"`)
	for tab, want := range map[string]string{
		"timeline":        "<td>" + compute.StageGuestReady + "</td>",
		"addresses":       "fa:16:3e:00:00:10",
		"volumes":         "No volumes attached",
		"security-groups": "<h2>default</h2>",
		"usage":           "usage sampling is off",
		"log":             "Console log",
	} {
		rec := m.do("GET", "/instances/"+inst.ID+"?tab="+tab, nil)
		mustContain(t, "tab "+tab, rec.Body.String(), want)
	}
	if tab := m.do("GET", "/instances/"+inst.ID+"/tab?tab=addresses", nil, "HX-Request", "true").Body.String(); !strings.HasPrefix(tab, `<section id="tab"`) ||
		!strings.Contains(tab, "10.0.0.10") || strings.Contains(tab, "<html") {
		t.Errorf("the addresses tab alone = %s", tab)
	}
	if log := m.do("GET", "/instances/"+inst.ID+"?tab=log", nil).Body.String(); strings.Contains(log, `hx-get="/instances/`+inst.ID+`/tab`) {
		t.Error("the console log tab refetches itself on every event; it should refresh when asked")
	}
	status := m.do("GET", "/instances/"+inst.ID+"/status", nil, "HX-Request", "true")
	if !strings.HasPrefix(status.Body.String(), `<p id="i-`+inst.ID+`" class="status" data-state="stopped"`) {
		t.Errorf("the status fragment = %s", status.Body)
	}
	shot := m.do("GET", "/instances/"+inst.ID+"/screenshot", nil)
	if ct := shot.Header().Get("Content-Type"); ct != "image/svg+xml" || !strings.Contains(shot.Body.String(), "no screen") {
		t.Errorf("the screenshot of a stopped instance = %q %s, want the placeholder", ct, shot.Body)
	}
	if rec := m.do("GET", "/instances/00000000-0000-4000-8000-000000000000", nil); rec.Code != 404 {
		t.Errorf("an unknown instance's page = %d, want the API's 404", rec.Code)
	}
}

// uiStream opens /ui/events over HTTP as a logged-in browser would, resuming after lastID.
func uiStream(t *testing.T, sf *streamFixture, cookie *http.Cookie, lastID string) *client.EventStream {
	t.Helper()
	req, _ := http.NewRequest("GET", sf.url+"/ui/events", nil)
	req.AddCookie(cookie)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /ui/events = %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	st := client.NewEventStream(resp.Body)
	t.Cleanup(func() { st.Close() })
	return st
}

// loginCookie logs in through the dashboard's form over HTTP and returns the session cookie.
func loginCookie(t *testing.T, sf *streamFixture, user, project string) *http.Cookie {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm(sf.url+"/login", url.Values{"username": {user}, "password": {testUserPassword}, "project": {project}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "cloudlet_session" {
			return c
		}
	}
	t.Fatalf("login as %s = %d without a session cookie", user, resp.StatusCode)
	return nil
}

func (sf *streamFixture) instanceEvent(typ, project, id, state string) uint64 {
	sf.t.Helper()
	data, _ := json.Marshal(map[string]string{"vm_state": state})
	e := &store.Event{Type: typ, Kind: "instance", ID: id, ProjectID: sf.projects[project], Data: data}
	if err := sf.db.Update(func(tx *store.Tx) error { return store.AppendEvent(tx, e) }); err != nil {
		sf.t.Fatal(err)
	}
	return e.Seq
}

func TestDashboardEventStreamNamesEachInstanceChangeForTheSessionsProject(t *testing.T) {
	sf := newStreamFixture(t, Limits{}, EventStreamOptions{})
	cookie := loginCookie(t, sf, "member", "pa")
	st := uiStream(t, sf, cookie, "")
	sf.instanceEvent("instance.created", "pb", "other-project", "building") // not the session's project
	seq := sf.instanceEvent("instance.created", "pa", "i1", "building")
	want := []client.Event{{Seq: seq, Type: "instance-i1"}, {Seq: seq, Type: "instance-changed"}}
	for _, w := range want {
		e := next(t, st)
		var data struct{ ID, State string }
		if err := json.Unmarshal(e.Data, &data); err != nil || e.Type != w.Type || e.Seq != w.Seq || data.ID != "i1" || data.State != "building" {
			t.Fatalf("event %d %s %s (%v), want %d %s for i1 building", e.Seq, e.Type, e.Data, err, w.Seq, w.Type)
		}
	}
	st.Close()

	later := sf.instanceEvent("instance.state", "pa", "i1", "active")
	resumed := uiStream(t, sf, cookie, fmt.Sprint(seq))
	if e := next(t, resumed); e.Type != "instance-i1" || e.Seq != later || !strings.Contains(string(e.Data), `"state":"active"`) {
		t.Fatalf("resumed stream's first event = %d %s %s, want %d instance-i1 active", e.Seq, e.Type, e.Data, later)
	}
}

func TestDashboardEventStreamNeedsASession(t *testing.T) {
	sf := newStreamFixture(t, Limits{}, EventStreamOptions{})
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(sf.url + "/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	if resp.StatusCode != http.StatusSeeOther || strings.HasPrefix(line, "retry") {
		t.Errorf("/ui/events without a session = %d %q, want 303 to the login page", resp.StatusCode, line)
	}
}

// fixedStats is a sampler's cache with an hour of CPU rising from 0 to 100 % on every instance.
type fixedStats struct{}

func (fixedStats) Stats(id string) metering.InstanceStats {
	var pts []metering.Point
	for i := range 5 {
		pts = append(pts, metering.Point{CPUPercent: float64(i * 25), MemoryBytes: 256 << 20})
	}
	return metering.InstanceStats{InstanceID: id, Running: true, Hour: metering.Series{IntervalSeconds: 60, Points: pts}}
}

func (fixedStats) HostStats() metering.HostStats { return metering.HostStats{} }

func TestDashboardUsageTabDrawsTheAPIsStatsAsSVGLines(t *testing.T) {
	f := newAuthFixture(t)
	f.srv.opts.Stats = fixedStats{}
	inst := f.putInstance("pa", "web-1", compute.VMActive)
	m := newBrowser(f)
	m.login("member", testUserPassword, "pa", "/instances")
	page := m.do("GET", "/instances/"+inst.ID+"?tab=usage", nil).Body.String()
	// Five points across 300 units, the peak (100 %) at the top (y 2), zero at the bottom (y 78).
	mustContain(t, "the usage tab", page, `<figcaption>CPU: now 100 %, peak 100 %</figcaption>`,
		`<polyline points="0.0,78.0 75.0,59.0 150.0,40.0 225.0,21.0 300.0,2.0"`,
		`aria-label="Memory over the last hour, now 256.0 MiB, peak 256.0 MiB"`, "<figcaption>Network in and out: now 0 B/s, peak 0 B/s</figcaption>")
}
