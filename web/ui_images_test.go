package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"cloudlet/images"
	"cloudlet/store"
)

// put sends a raw body as the browser's upload island does (XMLHttpRequest PUT with the CSRF header).
func (b *browser) put(path string, body []byte, csrf string) *httptest.ResponseRecorder {
	b.t.Helper()
	req := httptest.NewRequest("PUT", path, bytes.NewReader(body))
	req.RemoteAddr = remoteAddr
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Content-Type", "application/octet-stream")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// apiImage reads an image through the API as who.
func (f *authFixture) apiImage(who, ref string) (images.Image, int) {
	f.t.Helper()
	rec := f.do("GET", "/api/v1/images/"+ref, f.tokens[who], "")
	var img images.Image
	_ = json.Unmarshal(rec.Body.Bytes(), &img)
	return img, rec.Code
}

// imageForm is the upload form's fields.
func imageForm(csrf, name, format, visibility string) url.Values {
	return url.Values{"csrf_token": {csrf}, "name": {name}, "disk_format": {format}, "visibility": {visibility}}
}

func TestDashboardImageUploadStreamsAFileLargerThanTheJSONCap(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/images")
	csrf := b.csrf("/images")
	rec := b.do("POST", "/images", imageForm(csrf, "disk1", "raw", "private"), "Accept", "application/json")
	var img images.Image
	if err := json.Unmarshal(rec.Body.Bytes(), &img); rec.Code != http.StatusCreated || err != nil || img.Status != images.StatusQueued {
		t.Fatalf("create the record = %d %s", rec.Code, rec.Body)
	}
	list := b.do("GET", "/images", nil).Body.String()
	if !strings.Contains(list, `<tr id="img-`+img.ID+`" data-status="queued">`) {
		t.Errorf("the list does not show the record queued for its file, without polling:\n%s", list)
	}
	data := bytes.Repeat([]byte("cloudlet"), 3<<20/8) // 3 MiB: three times the API's JSON cap
	if rec := b.put("/images/"+img.ID+"/file", data, ""); rec.Code != http.StatusForbidden {
		t.Errorf("an upload without the CSRF header = %d, want 403", rec.Code)
	}
	rec = b.put("/images/"+img.ID+"/file", data, csrf)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<tr id="img-`+img.ID+`" data-status="active">`) {
		t.Fatalf("upload = %d %s, want the active row", rec.Code, rec.Body)
	}
	if got, _ := f.apiImage("member", img.ID); got.Status != images.StatusActive || got.Size != int64(len(data)) {
		t.Errorf("after the upload the API has %+v, want active with %d bytes", got, len(data))
	}
	if rec := b.put("/images/"+img.ID+"/file", []byte("again"), csrf); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "only once") {
		t.Errorf("a second upload = %d %s, want the API's 409", rec.Code, rec.Body)
	}
}

func TestDashboardImageFormsShowTheAPIsRefusalsNextToTheirFields(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/images")
	csrf := b.csrf("/images")
	page := b.do("GET", "/images", nil).Body.String()
	if !strings.Contains(page, `id="upload-form"`) || !strings.Contains(page, `id="import-form"`) || strings.Contains(page, `value="public"`) {
		t.Errorf("a member's images page: want the upload and import forms and no public option:\n%s", page)
	}
	for _, tc := range []struct {
		what, path string
		form       url.Values
		status     int
		field, msg string
	}{
		{"a bad name", "/images", imageForm(csrf, "../x", "raw", "private"), 422, "upload-name", "invalid name"},
		{"a file URL", "/images/import", withURL(imageForm(csrf, "f", "raw", "private"), "file:///etc/passwd"), 422, "import-url", "only http and https"},
		{"a public image", "/images", imageForm(csrf, "pub", "raw", "public"), 403, "upload-visibility", ""},
	} {
		rec := b.do("POST", tc.path, tc.form)
		body := rec.Body.String()
		marked := regexp.MustCompile(`id="` + tc.field + `"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*aria-describedby="` + tc.field + `-error"`)
		if rec.Code != tc.status || !strings.Contains(body, `class="field-error" id="`+tc.field+`-error"`) ||
			!strings.Contains(body, tc.msg) || !marked.MatchString(body) {
			t.Errorf("%s = %d, want %d with a field error on %s saying %q:\n%s", tc.what, rec.Code, tc.status, tc.field, tc.msg, body)
		}
	}
	admin := newBrowser(f)
	admin.login("admin", f.adminPassword, "admin", "/overview")
	if !strings.Contains(admin.do("GET", "/images", nil).Body.String(), `value="public"`) {
		t.Error("an admin is not offered public visibility")
	}
}

func withURL(v url.Values, u string) url.Values { v.Set("url", u); return v }

// A saving image's row polls itself every second and says how much has arrived.
func TestDashboardASavingImagesRowPollsAndShowsTheBytesReceived(t *testing.T) {
	f := newAuthFixture(t)
	img := images.Image{Meta: store.Meta{Name: "incoming", ProjectID: f.projectID("pa")}, Status: images.StatusSaving,
		DiskFormat: "qcow2", Visibility: "private", Source: images.SourceURL, BytesReceived: 5 << 20}
	kind := store.NewKind[images.Image](store.BucketImages, store.ScopeProject)
	if err := f.db.Update(func(tx *store.Tx) error { return kind.Create(tx, &img) }); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/images")
	for _, path := range []string{"/images", "/images/" + img.ID + "/row"} {
		body := b.do("GET", path, nil).Body.String()
		if !strings.Contains(body, `<tr id="img-`+img.ID+`" data-status="saving" hx-get="/images/`+img.ID+`/row" hx-trigger="every 1s" hx-swap="outerHTML">`) ||
			!strings.Contains(body, "5.0 MiB received") {
			t.Errorf("GET %s: the saving image's row does not poll or say what arrived:\n%s", path, body)
		}
	}
}

func TestDashboardImportShowsItsProgressInAPolledRow(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/images")
	csrf := b.csrf("/images")
	rec := b.do("POST", "/images/import", withURL(imageForm(csrf, "lo", "raw", "private"), "http://127.0.0.1:9/disk"))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/images" {
		t.Fatalf("import = %d %s", rec.Code, rec.Body)
	}
	img, code := f.apiImage("member", "lo")
	if code != 200 {
		t.Fatalf("the import made no image: %d", code)
	}
	var row string
	waitUntil(t, "the import's row to settle", func() bool {
		row = b.do("GET", "/images/"+img.ID+"/row", nil).Body.String()
		return !strings.Contains(row, "hx-trigger")
	})
	if !strings.Contains(row, `data-status="killed"`) || !strings.Contains(row, "could not connect") {
		t.Errorf("the settled row = %s, want killed with the API's fault", row)
	}
}

func TestDashboardImageEditAndDeleteGoThroughTheAPI(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/images")
	csrf := b.csrf("/images")
	if rec := b.do("POST", "/images", imageForm(csrf, "disk1", "raw", "private")); rec.Code != http.StatusSeeOther {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	img, _ := f.apiImage("member", "disk1")
	edit := url.Values{"csrf_token": {csrf}, "visibility": {"shared"}, "min_disk_gib": {"2"}, "min_ram_mib": {"256"}, "protected": {"on"}}
	if rec := b.do("POST", "/images/"+img.ID, edit); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/images/"+img.ID+"?saved=1" {
		t.Fatalf("edit = %d %s", rec.Code, rec.Body)
	}
	if got, _ := f.apiImage("member", img.ID); got.Visibility != "shared" || got.MinDiskGiB != 2 || got.MinRAMMiB != 256 || !got.Protected {
		t.Errorf("after the edit the API has %+v", got)
	}
	edit.Set("min_disk_gib", "lots")
	if rec := b.do("POST", "/images/"+img.ID, edit); rec.Code != 422 || !strings.Contains(rec.Body.String(), "min_disk_gib must be a whole number") {
		t.Errorf("an edit with a bad number = %d %s", rec.Code, rec.Body)
	}
	if page := b.do("GET", "/images/"+img.ID+"/delete", nil); page.Code != 200 || !strings.Contains(page.Body.String(), `action="/images/`+img.ID+`/delete"`) {
		t.Fatalf("confirm page = %d %s", page.Code, page.Body)
	}
	del := url.Values{"csrf_token": {csrf}}
	if rec := b.do("POST", "/images/"+img.ID+"/delete", del); rec.Code == http.StatusSeeOther || !strings.Contains(rec.Body.String(), `role="alert"`) {
		t.Errorf("deleting a protected image = %d, want the API's refusal on the confirm page: %s", rec.Code, rec.Body)
	}
	edit.Set("min_disk_gib", "0")
	edit.Del("protected")
	b.do("POST", "/images/"+img.ID, edit)
	if rec := b.do("POST", "/images/"+img.ID+"/delete", del); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/images" {
		t.Fatalf("delete = %d %s", rec.Code, rec.Body)
	}
	if _, code := f.apiImage("member", img.ID); code != http.StatusNotFound {
		t.Errorf("the deleted image is still in the API: %d", code)
	}
}

func TestDashboardImagePageShowsItsFactsAndOffersEditsToItsOwnersOnly(t *testing.T) {
	f := newAuthFixture(t)
	img := f.putImage("pa", "disk1")
	member := newBrowser(f)
	member.login("member", testUserPassword, "pa", "/overview")
	page := member.do("GET", "/images/"+img.ID, nil)
	mustContain(t, "the owner's image page", page.Body.String(), "<h1>Image disk1</h1>", "<code>"+img.ID+"</code>", "1.0 MiB",
		`action="/images/`+img.ID+`"`, `id="edit-visibility"`, `href="/images/`+img.ID+`/delete"`)
	reader := newBrowser(f)
	reader.login("reader", testUserPassword, "pa", "/overview")
	mustNotContain(t, "a reader's image page", reader.do("GET", "/images/"+img.ID, nil).Body.String(), `id="edit-visibility"`, "/delete")
	other := newBrowser(f)
	other.login("memberb", testUserPassword, "pb", "/overview")
	if rec := other.do("GET", "/images/"+img.ID, nil); rec.Code != http.StatusNotFound {
		t.Errorf("another project's private image page = %d, want the API's 404", rec.Code)
	}
}

func TestDashboardReaderSeesNoImageActionsAndIsRefusedWhenForcing(t *testing.T) {
	f := newAuthFixture(t)
	if rec := f.do("POST", "/api/v1/images", f.tokens["member"], `{"name":"disk1","disk_format":"raw"}`); rec.Code != 201 {
		t.Fatal(rec.Body)
	}
	b := newBrowser(f)
	b.login("reader", testUserPassword, "pa", "/images")
	page := b.do("GET", "/images", nil).Body.String()
	if !strings.Contains(page, "disk1") || strings.Contains(page, "upload-form") || strings.Contains(page, "/delete") || strings.Contains(page, "Edit") {
		t.Errorf("a reader's images page shows actions:\n%s", page)
	}
	csrf := b.csrf("/images")
	if rec := b.do("POST", "/images", imageForm(csrf, "forced", "raw", "private")); rec.Code != http.StatusForbidden {
		t.Errorf("a reader's forced create = %d, want 403", rec.Code)
	}
	img, _ := f.apiImage("reader", "disk1")
	if rec := b.do("GET", "/images/"+img.ID+"/delete", nil); rec.Code != http.StatusForbidden {
		t.Errorf("a reader forcing the delete confirmation = %d, want 403", rec.Code)
	}
	if rec := b.do("POST", "/images/"+img.ID+"/delete", url.Values{"csrf_token": {csrf}}); rec.Code != http.StatusForbidden {
		t.Errorf("a reader's forced delete = %d, want the API's 403", rec.Code)
	}
	if _, code := f.apiImage("member", img.ID); code != http.StatusOK {
		t.Errorf("the reader's forced delete removed the image: %d", code)
	}
}
