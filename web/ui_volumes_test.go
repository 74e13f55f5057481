package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"cloudlet/appliance/volume"
)

// callAPI calls the API as user and decodes its answer into out (nil: ignore it); the status must be want.
func (f *authFixture) callAPI(user, method, path, body string, want int, out any) {
	f.t.Helper()
	rec := f.do(method, path, f.tokens[user], body)
	if rec.Code != want {
		f.t.Fatalf("%s %s as %s = %d %s, want %d", method, path, user, rec.Code, rec.Body, want)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			f.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// volumeNamed is the project's volume called name, read through the API as user.
func (f *authFixture) volumeNamed(user, name string) volume.Volume {
	f.t.Helper()
	var vs []volume.Volume
	f.callAPI(user, "GET", "/api/v1/volumes", "", 200, &vs)
	for _, v := range vs {
		if v.Name == name {
			return v
		}
	}
	f.t.Fatalf("%s sees no volume %q among %+v", user, name, vs)
	return volume.Volume{}
}

// wantRedirect fails unless rec is a 303 to where.
func wantRedirect(t *testing.T, what string, rec *httptest.ResponseRecorder, where string) {
	t.Helper()
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != where {
		t.Fatalf("%s = %d to %q, want 303 to %s: %s", what, rec.Code, rec.Header().Get("Location"), where, rec.Body)
	}
}

// fieldError finds the error shown for the control with id: the control is aria-invalid and
// described by a field error next to it, which holds the message.
func fieldError(t *testing.T, page, control string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + control + `"[^>]*aria-invalid="true" aria-describedby="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("control %s is not marked invalid with a described error:\n%s", control, page)
	}
	e := regexp.MustCompile(`<p class="field-error" id="` + m[1] + `"[^>]*>([^<]*)</p>`).FindStringSubmatch(page)
	if e == nil {
		t.Fatalf("no field error %s next to %s:\n%s", m[1], control, page)
	}
	return e[1]
}

func TestDashboardVolumesCreateListAndShow(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/volumes")
	rec := b.sendForm("/volumes", "/volumes", url.Values{"name": {"data"}, "size_gib": {"2"}, "source": {"empty"}})
	v := f.volumeNamed("member", "data")
	wantRedirect(t, "create a volume", rec, "/volumes/"+v.ID)
	if v.SizeGiB != 2 {
		t.Errorf("the form made a %d GiB volume, want 2", v.SizeGiB)
	}
	list := b.do("GET", "/volumes", nil).Body.String()
	if !strings.Contains(list, `id="v-`+v.ID+`" data-status="available"`) || !strings.Contains(list, `href="/volumes/`+v.ID+`">data</a>`) {
		t.Errorf("the list does not show volume data as available:\n%s", list)
	}
	page := b.do("GET", "/volumes/"+v.ID, nil)
	if page.Code != 200 || !strings.Contains(page.Body.String(), "<h1>Volume data</h1>") || !strings.Contains(page.Body.String(), `id="volume-attach"`) {
		t.Errorf("GET /volumes/%s = %d:\n%s", v.ID, page.Code, page.Body)
	}
	confirm := `<form method="post" action="/volumes/` + v.ID + `/delete" class="confirm-body">`
	if body := page.Body.String(); !strings.Contains(body, confirm) || !strings.Contains(body, "Delete volume data? Its data is lost") {
		t.Errorf("the volume's page has no delete confirmation naming it:\n%s", body)
	}
	if rec := b.do("GET", "/volumes/nope", nil); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown volume's page = %d, want the API's 404", rec.Code)
	}
}

func TestDashboardVolumeCreateShowsTheAPIsRefusalOnTheField(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/volumes")
	rec := b.sendForm("/volumes", "/volumes", url.Values{"name": {"big"}, "size_gib": {"lots"}, "source": {"empty"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a size that is no number = %d, want 422: %s", rec.Code, rec.Body)
	}
	if msg := fieldError(t, rec.Body.String(), "vc-size"); !strings.Contains(msg, "size_gib") {
		t.Errorf("size field error = %q, want the API's message naming size_gib", msg)
	}
	if !strings.Contains(rec.Body.String(), `id="vc-name" name="name" required value="big"`) {
		t.Error("the refused form lost the name typed into it")
	}
	noPool := b.sendForm("/volumes", "/volumes", url.Values{"name": {"elsewhere"}, "size_gib": {"1"}, "pool": {"nowhere"}})
	if noPool.Code < 400 || !strings.Contains(fieldError(t, noPool.Body.String(), "vc-pool"), "nowhere") {
		t.Errorf("an unknown pool = %d, want the API's refusal next to the pool field", noPool.Code)
	}
}

func TestDashboardVolumeExtendSnapshotRevertAndDelete(t *testing.T) {
	f := newAuthFixture(t)
	f.callAPI("member", "POST", "/api/v1/volumes", `{"name":"data","size_gib":1}`, 201, nil)
	v := f.volumeNamed("member", "data")
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/volumes/"+v.ID)
	page := "/volumes/" + v.ID

	wantRedirect(t, "extend", b.sendForm(page, page+"/extend", url.Values{"size_gib": {"3"}}), page)
	if got := f.volumeNamed("member", "data").SizeGiB; got != 3 {
		t.Errorf("after extend to 3 GiB the volume has %d", got)
	}
	bad := b.sendForm(page, page+"/extend", url.Values{"size_gib": {"2"}})
	if bad.Code < 400 || fieldError(t, bad.Body.String(), "vex-size") == "" {
		t.Errorf("shrinking = %d, want a refusal on the size field", bad.Code)
	}

	wantRedirect(t, "snapshot", b.sendForm(page, page+"/snapshot", url.Values{"name": {"before"}}), page)
	var snaps []volume.Snapshot
	f.callAPI("member", "GET", "/api/v1/volumes/"+v.ID+"/snapshots", "", 200, &snaps)
	if len(snaps) != 1 || snaps[0].Name != "before" {
		t.Fatalf("snapshots after the form = %+v", snaps)
	}
	shown := b.do("GET", page, nil).Body.String()
	if !strings.Contains(shown, `id="s-`+snaps[0].ID+`"`) || !strings.Contains(shown, "Revert to snapshot before") {
		t.Errorf("the volume's page does not list snapshot before with a revert:\n%s", shown)
	}
	if !strings.Contains(b.do("GET", "/snapshots", nil).Body.String(), `id="s-`+snaps[0].ID+`"`) {
		t.Error("/snapshots does not list the snapshot")
	}
	wantRedirect(t, "revert", b.sendForm(page, page+"/revert", url.Values{"snapshot": {snaps[0].ID}}), page)
	wantRedirect(t, "delete the snapshot", b.sendForm(page, "/snapshots/"+snaps[0].ID+"/delete", url.Values{"next": {page}}), page)
	f.callAPI("member", "GET", "/api/v1/snapshots/"+snaps[0].ID, "", 404, nil)

	wantRedirect(t, "delete", b.sendForm(page, page+"/delete", url.Values{}), "/volumes")
	f.callAPI("member", "GET", "/api/v1/volumes/"+v.ID, "", 404, nil)
}

func TestDashboardVolumeAttachShowsTheInstanceAndRefusals(t *testing.T) {
	f := newAuthFixture(t)
	f.callAPI("member", "POST", "/api/v1/volumes", `{"name":"data","size_gib":1}`, 201, nil)
	v := f.volumeNamed("member", "data")
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/volumes/"+v.ID)
	page := "/volumes/" + v.ID
	rec := b.sendForm(page, page+"/attach", url.Values{"instance": {"ghost"}})
	if rec.Code != http.StatusNotFound || !strings.Contains(fieldError(t, rec.Body.String(), "vat-instance"), "ghost") {
		t.Errorf("attach to an unknown instance = %d, want the API's 404 next to the instance picker:\n%s", rec.Code, rec.Body)
	}
	ctx := context.Background()
	vols := f.srv.opts.Volumes
	const inst = "7d0e6a8c-0000-4000-8000-000000000001"
	r, err := vols.Reserve(ctx, v.ProjectID, v.ID, inst)
	if err == nil {
		_, err = vols.Attached(ctx, r.ID, "vdb", false, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	shown := b.do("GET", page, nil).Body.String()
	if !strings.Contains(shown, `href="/instances/`+inst+`"`) || !strings.Contains(shown, "<code>vdb</code>") || !strings.Contains(shown, `id="volume-detach"`) {
		t.Errorf("an attached volume's page does not show the instance, the device and a detach:\n%s", shown)
	}
	if strings.Contains(shown, `id="volume-attach"`) {
		t.Error("an attached volume offers to attach again")
	}
	list := b.do("GET", "/volumes", nil).Body.String()
	if !strings.Contains(list, `id="v-`+v.ID+`" data-status="in-use"`) {
		t.Errorf("the list does not show the volume in use:\n%s", list)
	}
}

var transferShown = regexp.MustCompile(`id="transfer-id">([^<]+)</dd>\s*<dt>Secret</dt><dd class="secret" id="transfer-key">([^<]+)</dd>`)

func TestDashboardVolumeTransferShowsTheSecretOnceCancelsAndIsAccepted(t *testing.T) {
	f := newAuthFixture(t)
	f.callAPI("member", "POST", "/api/v1/volumes", `{"name":"gift","size_gib":1}`, 201, nil)
	v := f.volumeNamed("member", "gift")
	a := newBrowser(f)
	a.login("member", testUserPassword, "pa", "/volumes/"+v.ID)
	page := "/volumes/" + v.ID
	rec := a.sendForm(page, page+"/transfer", url.Values{})
	m := transferShown.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusCreated || m == nil {
		t.Fatalf("create a transfer = %d, want the ID and secret shown:\n%s", rec.Code, rec.Body)
	}
	again := a.do("GET", page, nil).Body.String()
	if strings.Contains(again, m[2]) || !strings.Contains(again, m[1]) {
		t.Error("the volume's page shows the transfer's secret again, or not the pending transfer")
	}
	wantRedirect(t, "cancel the transfer", a.sendForm(page, page+"/cancel-transfer", url.Values{"transfer_id": {m[1]}}), page)
	if strings.Contains(a.do("GET", page, nil).Body.String(), m[1]) {
		t.Fatal("the cancelled transfer is still shown as pending")
	}
	m = transferShown.FindStringSubmatch(a.sendForm(page, page+"/transfer", url.Values{}).Body.String())
	if m == nil {
		t.Fatal("no second transfer after the first was cancelled")
	}
	b := newBrowser(f)
	b.login("memberb", testUserPassword, "pb", "/volumes")
	wrong := b.sendForm("/volumes", "/volumes/accept-transfer", url.Values{"transfer_id": {m[1]}, "auth_key": {"wrong"}})
	if wrong.Code != http.StatusForbidden || fieldError(t, wrong.Body.String(), "va-key") == "" {
		t.Errorf("accept with a wrong secret = %d, want the API's 403 next to the secret", wrong.Code)
	}
	wantRedirect(t, "accept", b.sendForm("/volumes", "/volumes/accept-transfer", url.Values{"transfer_id": {m[1]}, "auth_key": {m[2]}}), page)
	if moved := f.volumeNamed("memberb", "gift"); moved.ID != v.ID {
		t.Errorf("project pb has volume %s, want %s", moved.ID, v.ID)
	}
}

func TestDashboardVolumesReaderSeesNoChangesAndIsRefused(t *testing.T) {
	f := newAuthFixture(t)
	f.callAPI("member", "POST", "/api/v1/volumes", `{"name":"data","size_gib":1}`, 201, nil)
	v := f.volumeNamed("member", "data")
	b := newBrowser(f)
	b.login("reader", testUserPassword, "pa", "/volumes")
	list := b.do("GET", "/volumes", nil).Body.String()
	if !strings.Contains(list, `id="v-`+v.ID+`"`) || strings.Contains(list, `id="volume-create"`) {
		t.Errorf("a reader's list: want the volume and no create form:\n%s", list)
	}
	page := b.do("GET", "/volumes/"+v.ID, nil).Body.String()
	for _, form := range []string{`id="volume-attach"`, `id="volume-extend"`, `id="volume-snapshot"`, `id="volume-transfer"`, `/delete"`} {
		if strings.Contains(page, form) {
			t.Errorf("a reader sees %s on the volume's page", form)
		}
	}
	if rec := b.sendForm("/volumes", "/volumes/"+v.ID+"/delete", url.Values{}); rec.Code != http.StatusForbidden {
		t.Errorf("a reader's forced delete = %d, want the API's 403", rec.Code)
	}
}
