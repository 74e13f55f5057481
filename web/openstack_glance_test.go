package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/images"
	"cloudlet/internal/testkit"
)

// glanceImage is an image as Glance's answers give it.
type glanceImage struct {
	ID, Name, Status, Visibility, DiskFormat, ContainerFormat string
	Size                                                      *int64
	MinDisk                                                   int    `json:"min_disk"`
	MinRAM                                                    int    `json:"min_ram"`
	HashAlgo                                                  string `json:"os_hash_algo"`
	HashValue                                                 string `json:"os_hash_value"`
	Protected                                                 bool
	Tags                                                      []string
}

// qcow2File is a small real qcow2 (qemu-img create), as a client would upload it.
func qcow2File(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", path, "4M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// glanceCreate makes an image through Glance with a flat body and returns it.
func glanceCreate(t *testing.T, f *authFixture, tok, body string) glanceImage {
	t.Helper()
	rec := f.osDo("POST", "/image/v2/images", tok, body)
	var img glanceImage
	decodeInto(t, rec, &img)
	if rec.Code != http.StatusCreated || img.ID == "" {
		t.Fatalf("create %s = %d %s, want 201", body, rec.Code, rec.Body)
	}
	return img
}

// nativeImage reads an image through /api/v1, where every Glance step must show.
func nativeImage(t *testing.T, f *authFixture, tok, id string) (images.Image, int) {
	t.Helper()
	rec := f.do("GET", "/api/v1/images/"+id, tok, "")
	var img images.Image
	if rec.Code == http.StatusOK {
		decodeInto(t, rec, &img)
	}
	return img, rec.Code
}

// An image made, uploaded, read back and deleted through Glance is the same image in /api/v1 at
// each step: queued with its properties, then active with its size and sha256, then gone.
func TestGlanceCreateUploadDownloadDeleteAnImage(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	img := glanceCreate(t, f, tok, `{"name":"img1","disk_format":"qcow2","container_format":"bare","visibility":"private",
		"min_disk":1,"min_ram":128,"tags":[],"owner_specified.openstack.object":"images/img1"}`)
	if img.Status != "queued" || img.MinDisk != 1 || img.MinRAM != 128 || img.Size != nil {
		t.Errorf("created image = %+v, want queued, min_disk 1, min_ram 128, no size", img)
	}
	native, _ := nativeImage(t, f, tok, img.ID)
	if native.Status != images.StatusQueued || native.MinDiskGiB != 1 || native.Properties["owner_specified.openstack.object"] != "images/img1" {
		t.Errorf("/api/v1 has %+v, want queued with min_disk_gib 1 and the extra attribute as a property", native)
	}
	if rec := f.osDo("GET", "/image/v2/images/"+img.ID+"/file", tok, ""); rec.Code != http.StatusNoContent {
		t.Errorf("GET file of a queued image = %d, want 204", rec.Code)
	}
	data := qcow2File(t)
	if rec := f.osDo("PUT", "/image/v2/images/"+img.ID+"/file", tok, string(data), "Content-Type", "application/octet-stream"); rec.Code != http.StatusNoContent {
		t.Fatalf("upload = %d %s, want 204", rec.Code, rec.Body)
	}
	sum := sha256.Sum256(data)
	var shown glanceImage
	decodeInto(t, f.osDo("GET", "/image/v2/images/"+img.ID, tok, ""), &shown)
	if shown.Status != "active" || shown.Size == nil || *shown.Size != int64(len(data)) || shown.HashAlgo != "sha256" ||
		shown.HashValue != hex.EncodeToString(sum[:]) {
		t.Errorf("uploaded image = %+v, want active with size %d and sha256 %x", shown, len(data), sum)
	}
	if native, _ := nativeImage(t, f, tok, img.ID); native.Status != images.StatusActive || native.Checksum != hex.EncodeToString(sum[:]) {
		t.Errorf("/api/v1 has %+v after the upload, want active with the data's sha256", native)
	}
	rec := f.osDo("GET", "/image/v2/images/"+img.ID+"/file", tok, "")
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), data) || rec.Header().Get("Content-Type") != "application/octet-stream" {
		t.Errorf("download = %d, %d bytes (%s), want 200 with the uploaded bytes", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"))
	}
	if rec := f.osDo("DELETE", "/image/v2/images/"+img.ID, tok, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete = %d %s, want 204", rec.Code, rec.Body)
	}
	if _, code := nativeImage(t, f, tok, img.ID); code != http.StatusNotFound {
		t.Errorf("/api/v1 after the delete = %d, want 404", code)
	}
}

// A create body Glance would refuse is refused with Glance's status, and nothing is made.
func TestGlanceCreateRefusesReadOnlyAndBadAttributes(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	existing := glanceCreate(t, f, tok, `{"name":"there","disk_format":"raw","container_format":"bare"}`)
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{`{"name":"x","disk_format":"raw","status":"active"}`, 403, "Attribute 'status' is read-only."},
		{`{"name":"x","disk_format":"raw","size":5}`, 403, "Attribute 'size' is read-only."},
		{`{"name":"x","disk_format":"raw","deleted":true}`, 403, "Attribute 'deleted' is reserved."},
		{`{"name":"x","disk_format":"vhd"}`, 400, "disk format"},
		{`{"name":"x","disk_format":"raw","container_format":"docker"}`, 400, "container format"},
		{`{"name":"x","disk_format":"raw","min_disk":"big"}`, 400, "min_disk"},
		{`{"name":"x","disk_format":"raw","tags":[""]}`, 400, "tag"},
		{`{"name":"x","disk_format":"raw","tags":"a"}`, 400, "tags"},
		{`{"name":"x","disk_format":"raw","os_hidden":true}`, 400, "os_hidden"},
		{`{"name":"x","disk_format":"raw","ramdisk_id":7}`, 400, "must be a string"},
		{`{"name":"x","disk_format":"raw","visibility":"public"}`, 403, "image:publicize"},
		{`{"name":"x","disk_format":"raw","id":"` + existing.ID + `"}`, 409, "already exists"},
		{`{"name":"x","disk_format":"raw","id":"00000000-1111-2222-3333-444455556666"}`, 400, "cloudlet chooses image ids"},
		{`["name"]`, 400, "JSON object"},
	} {
		rec := f.osDo("POST", "/image/v2/images", tok, tc.body)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) || !strings.Contains(rec.Body.String(), `"message"`) {
			t.Errorf("create %s = %d %s, want %d with %q", tc.body, rec.Code, rec.Body, tc.code, tc.want)
		}
	}
	var list struct{ Images []glanceImage }
	decodeInto(t, f.osDo("GET", "/image/v2/images?name=x", tok, ""), &list)
	if len(list.Images) != 0 {
		t.Errorf("refused creates made %+v", list.Images)
	}
}

// Data that is not what its disk format says is refused as cloudlet refuses it (400) and kills the
// image; a body of another type is 415; a name, or another project's image, is 404.
func TestGlanceUploadOfBadDataIsRefusedAndKillsTheImage(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	img := glanceCreate(t, f, tok, `{"name":"fake","disk_format":"qcow2","container_format":"bare"}`)
	file := "/image/v2/images/" + img.ID + "/file"
	if rec := f.osDo("PUT", file, tok, "hello", "Content-Type", "text/plain"); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("upload as text/plain = %d, want 415", rec.Code)
	}
	if rec := f.osDo("PUT", "/image/v2/images/fake/file", tok, "x", "Content-Type", "application/octet-stream"); rec.Code != http.StatusNotFound {
		t.Errorf("upload by name = %d, want 404", rec.Code)
	}
	if rec := f.osDo("PUT", file, f.tokens["memberb"], "x", "Content-Type", "application/octet-stream"); rec.Code != http.StatusNotFound {
		t.Errorf("upload into another project's image = %d, want 404", rec.Code)
	}
	rec := f.osDo("PUT", file, tok, strings.Repeat("not a qcow2 ", 1000), "Content-Type", "application/octet-stream")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "qcow2") {
		t.Errorf("upload of text as qcow2 = %d %s, want 400 naming the format", rec.Code, rec.Body)
	}
	if native, _ := nativeImage(t, f, tok, img.ID); native.Status != images.StatusKilled || native.Fault == "" {
		t.Errorf("/api/v1 has %+v after refused data, want killed with its fault", native)
	}
	var shown glanceImage
	decodeInto(t, f.osDo("GET", "/image/v2/images/"+img.ID, tok, ""), &shown)
	if shown.Status != "killed" {
		t.Errorf("Glance shows %+v, want killed", shown)
	}
}

// PATCH in either JSON-patch form changes names, minimums, protection and properties in /api/v1;
// bad operations and paths are 400, read-only attributes 403, another media type 415, a property
// that is not there 409, and a refused patch changes nothing.
func TestGlancePatchUpdatesTheImageAndRefusesBadOperations(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	img := glanceCreate(t, f, tok, `{"name":"p1","disk_format":"raw","container_format":"bare","gone":"x"}`)
	path := "/image/v2/images/" + img.ID
	patch := func(ctype, body string) (int, string) {
		rec := f.osDo("PATCH", path, tok, body, "Content-Type", ctype)
		return rec.Code, rec.Body.String()
	}
	v21, v20 := "application/openstack-images-v2.1-json-patch", "application/openstack-images-v2.0-json-patch"
	code, body := patch(v21, `[{"op":"replace","path":"/name","value":"p2"},{"op":"add","path":"/a","value":"b"},
		{"op":"replace","path":"/min_disk","value":1},{"op":"replace","path":"/protected","value":true},
		{"op":"remove","path":"/gone"},{"op":"replace","path":"/disk_format","value":"raw"}]`)
	if code != 200 || !strings.Contains(body, `"name":"p2"`) || !strings.Contains(body, `"a":"b"`) || strings.Contains(body, `"gone"`) {
		t.Fatalf("v2.1 patch = %d %s", code, body)
	}
	if code, body := patch(v20, `[{"replace":"/name","value":"p3"}]`); code != 200 || !strings.Contains(body, `"name":"p3"`) {
		t.Errorf("v2.0 patch = %d %s", code, body)
	}
	native, _ := nativeImage(t, f, tok, img.ID)
	if native.Name != "p3" || native.MinDiskGiB != 1 || !native.Protected || native.Properties["a"] != "b" || native.Properties["gone"] != "" {
		t.Errorf("/api/v1 has %+v after the patches", native)
	}
	for _, tc := range []struct {
		ctype, body string
		code        int
	}{
		{"application/json", `[{"op":"replace","path":"/name","value":"p4"}]`, 415},
		{v21, `[{"op":"move","from":"/a","path":"/c"}]`, 400},
		{v21, `[{"op":"replace","path":"/a/b","value":"c"}]`, 400},
		{v21, `[{"op":"replace","path":"name","value":"p4"}]`, 400},
		{v21, `[{"op":"replace","path":"/status","value":"active"}]`, 403},
		{v21, `[{"op":"replace","path":"/id","value":"x"}]`, 403},
		{v21, `[{"op":"remove","path":"/name"}]`, 403},
		{v21, `[{"op":"replace","path":"/missing","value":"x"}]`, 409},
		{v21, `[{"op":"remove","path":"/missing"}]`, 409},
		{v21, `[{"op":"replace","path":"/disk_format","value":"qcow2"}]`, 400},
		{v21, `[{"op":"add","path":"/tags","value":"t"}]`, 400},
		{v21, `[{"op":"remove","path":"/tags"}]`, 403},
		{v21, `[{"op":"replace","path":"/name","value":"Not A Name"}]`, 400},
		{v21, `[{"op":"replace","path":"/name","value":"p4"},{"op":"add","path":"/n","value":5}]`, 400},
		{v21, `{"op":"replace"}`, 400},
	} {
		if code, body := patch(tc.ctype, tc.body); code != tc.code {
			t.Errorf("patch %s %s = %d %s, want %d", tc.ctype, tc.body, code, body, tc.code)
		}
	}
	if native, _ := nativeImage(t, f, tok, img.ID); native.Name != "p3" {
		t.Errorf("refused patches renamed the image to %s", native.Name)
	}
	if rec := f.osDo("PATCH", "/image/v2/images/p3", tok, `[]`, "Content-Type", v21); rec.Code != http.StatusNotFound {
		t.Errorf("patch by name = %d, want 404", rec.Code)
	}
	if rec := f.osDo("PATCH", path, f.tokens["memberb"], `[]`, "Content-Type", v21); rec.Code != http.StatusNotFound {
		t.Errorf("patch of another project's image = %d, want 404", rec.Code)
	}
}

// A protected image's delete is Glance's 403 (cloudlet says 409), and the image stays; a reader may
// not delete; once unprotected it goes.
func TestGlanceDeleteOfAProtectedImageIs403(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	img := glanceCreate(t, f, tok, `{"name":"keep","disk_format":"raw","container_format":"bare","protected":true}`)
	if rec := f.osDo("DELETE", "/image/v2/images/"+img.ID, tok, ""); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "protected") {
		t.Errorf("delete of a protected image = %d %s, want 403", rec.Code, rec.Body)
	}
	if _, code := nativeImage(t, f, tok, img.ID); code != http.StatusOK {
		t.Errorf("/api/v1 after the refused delete = %d, want the image still there", code)
	}
	if rec := f.osDo("DELETE", "/image/v2/images/"+img.ID, f.tokens["reader"], ""); rec.Code != http.StatusForbidden {
		t.Errorf("a reader's delete = %d, want 403", rec.Code)
	}
	f.osDo("PATCH", "/image/v2/images/"+img.ID, tok, `[{"op":"replace","path":"/protected","value":false}]`,
		"Content-Type", "application/openstack-images-v2.1-json-patch")
	if rec := f.osDo("DELETE", "/image/v2/images/"+img.ID, tok, ""); rec.Code != http.StatusNoContent {
		t.Errorf("delete once unprotected = %d %s, want 204", rec.Code, rec.Body)
	}
}

// Members are projects: the owner shares (pending), the recipient finds it with member_status=pending
// and accepts it, after which the image is in its list; a project name where an id goes is 404.
func TestGlanceMembersShareAnImageWithAProject(t *testing.T) {
	f := newAuthFixture(t)
	tok, other := f.tokens["member"], f.tokens["memberb"]
	pb, err := f.ids.Resolve(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	img := glanceCreate(t, f, tok, `{"name":"shared","disk_format":"raw","container_format":"bare"}`)
	members := "/image/v2/images/" + img.ID + "/members"
	if rec := f.osDo("POST", members, tok, `{"member":"pb"}`); rec.Code != http.StatusNotFound {
		t.Errorf("a project name as member = %d %s, want 404", rec.Code, rec.Body)
	}
	rec := f.osDo("POST", members, tok, `{"member":"`+pb.ProjectID+`"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"pending"`) || !strings.Contains(rec.Body.String(), `"member_id":"`+pb.ProjectID) {
		t.Fatalf("add member = %d %s, want 200 pending", rec.Code, rec.Body)
	}
	if native, _ := nativeImage(t, f, tok, img.ID); native.Visibility != images.VisibilityShared || len(native.Members) != 1 {
		t.Errorf("/api/v1 has %+v, want shared with one member", native)
	}
	var pending struct{ Images []glanceImage }
	decodeInto(t, f.osDo("GET", "/image/v2/images?member_status=pending&visibility=shared", other, ""), &pending)
	if len(pending.Images) != 1 || pending.Images[0].ID != img.ID {
		t.Errorf("the recipient's pending shared images = %+v, want the shared one", pending.Images)
	}
	decodeInto(t, f.osDo("GET", "/image/v2/images?visibility=shared", other, ""), &pending)
	if len(pending.Images) != 0 {
		t.Errorf("the recipient's list before it accepts = %+v, want none (accepted only, by default)", pending.Images)
	}
	rec = f.osDo("PUT", members+"/"+pb.ProjectID, other, `{"status":"accepted"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"accepted"`) {
		t.Fatalf("accept = %d %s", rec.Code, rec.Body)
	}
	var list struct{ Images []glanceImage }
	decodeInto(t, f.osDo("GET", "/image/v2/images?visibility=shared", other, ""), &list)
	if len(list.Images) != 1 || list.Images[0].ID != img.ID {
		t.Errorf("the recipient's shared images = %+v, want the accepted one", list.Images)
	}
	if rec := f.osDo("GET", members+"/"+pb.ProjectID, tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"accepted"`) {
		t.Errorf("show member = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", members+"/00000000-0000-0000-0000-000000000000", tok, ""); rec.Code != http.StatusNotFound {
		t.Errorf("show a project that is no member = %d, want 404", rec.Code)
	}
	public := glanceCreate(t, f, f.tokens["admin"], `{"name":"everyone","disk_format":"raw","container_format":"bare","visibility":"public"}`)
	if rec := f.osDo("POST", "/image/v2/images/"+public.ID+"/members", f.tokens["admin"], `{"member":"`+pb.ProjectID+`"}`); rec.Code != http.StatusForbidden {
		t.Errorf("a member of a public image = %d %s, want Glance's 403", rec.Code, rec.Body)
	}
	if rec := f.osDo("DELETE", members+"/"+pb.ProjectID, tok, ""); rec.Code != http.StatusNoContent {
		t.Errorf("remove member = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", members, tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"members":[]`) {
		t.Errorf("members after the removal = %d %s, want none", rec.Code, rec.Body)
	}
	if native, _ := nativeImage(t, f, tok, img.ID); len(native.Members) != 0 {
		t.Errorf("/api/v1 members after the removal = %+v", native.Members)
	}
}

// Import offers web-download only: it downloads into the queued image with cloudlet's guards (a
// loopback URL ends killed, could not connect); glance-direct is 400.
func TestGlanceImportIsWebDownloadThroughTheGuardedURLImport(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	if rec := f.osDo("GET", "/image/v2/info/import", tok, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"value":["web-download"]`) {
		t.Errorf("info/import = %d %s", rec.Code, rec.Body)
	}
	img := glanceCreate(t, f, tok, `{"name":"web","disk_format":"raw","container_format":"bare"}`)
	imp := "/image/v2/images/" + img.ID + "/import"
	if rec := f.osDo("POST", imp, tok, `{"method":{"name":"glance-direct"}}`); rec.Code != http.StatusBadRequest {
		t.Errorf("glance-direct = %d %s, want 400", rec.Code, rec.Body)
	}
	if rec := f.osDo("POST", imp, tok, `{"method":{"name":"web-download","uri":"http://127.0.0.1:9/disk"}}`); rec.Code != http.StatusAccepted {
		t.Fatalf("web-download = %d %s, want 202", rec.Code, rec.Body)
	}
	deadline := time.Now().Add(30 * time.Second)
	native, _ := nativeImage(t, f, tok, img.ID)
	for native.Status != images.StatusKilled && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		native, _ = nativeImage(t, f, tok, img.ID)
	}
	if native.Status != images.StatusKilled || !strings.Contains(native.Fault, "could not connect") {
		t.Errorf("a loopback web-download ended %+v, want killed: could not connect", native)
	}
}

// Tags: given at create, replaced by a patch of /tags, one added or removed by the tag routes (a tag
// the image lacks is 404), filtered on by ?tag=; /api/v1 keeps each change.
func TestGlanceTagsAreKeptAndFilterTheList(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	img := glanceCreate(t, f, tok, `{"name":"tagged","disk_format":"raw","container_format":"bare","tags":["a","b"]}`)
	if len(img.Tags) != 2 {
		t.Errorf("created with tags %v, want [a b]", img.Tags)
	}
	glanceCreate(t, f, tok, `{"name":"plain","disk_format":"raw","container_format":"bare"}`)
	path := "/image/v2/images/" + img.ID
	if rec := f.osDo("PATCH", path, tok, `[{"op":"replace","path":"/tags","value":["c"]}]`, "Content-Type", "application/openstack-images-v2.1-json-patch"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"tags":["c"]`) {
		t.Errorf("patch /tags = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("PUT", path+"/tags/d", tok, ""); rec.Code != http.StatusNoContent {
		t.Errorf("PUT tag = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("DELETE", path+"/tags/c", tok, ""); rec.Code != http.StatusNoContent {
		t.Errorf("DELETE tag = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("DELETE", path+"/tags/nope", tok, ""); rec.Code != http.StatusNotFound {
		t.Errorf("DELETE of a tag the image lacks = %d, want 404", rec.Code)
	}
	if native, _ := nativeImage(t, f, tok, img.ID); len(native.Tags) != 1 || native.Tags[0] != "d" {
		t.Errorf("/api/v1 tags = %v, want [d]", native.Tags)
	}
	var list struct{ Images []glanceImage }
	decodeInto(t, f.osDo("GET", "/image/v2/images?tag=d", tok, ""), &list)
	if len(list.Images) != 1 || list.Images[0].ID != img.ID {
		t.Errorf("images?tag=d = %+v, want the tagged image only", list.Images)
	}
	if rec := f.osDo("PUT", path+"/tags/e", f.tokens["memberb"], ""); rec.Code != http.StatusNotFound {
		t.Errorf("tagging another project's image = %d, want 404", rec.Code)
	}
}

// Tempest's basic image operations (test_register_upload_get_image_file, test_update_image,
// test_delete_image) with its configured formats bare and raw: a queued image with an extra
// attribute has no data (204), takes 1024 random bytes, shows their size and gives them back;
// a v2.0 patch renames it; once deleted it is 404 and out of the list.
func TestGlanceTempestBasicImageOperations(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	const ramdisk = "00000000-1111-2222-3333-444455556666"
	img := glanceCreate(t, f, tok, `{"name":"tempest-image-1","container_format":"bare","disk_format":"raw",
		"visibility":"private","ramdisk_id":"`+ramdisk+`"}`)
	file := "/image/v2/images/" + img.ID + "/file"
	if rec := f.osDo("GET", file, tok, ""); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Errorf("file of the queued image = %d, %d bytes; want 204, none", rec.Code, rec.Body.Len())
	}
	data := make([]byte, 1024)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if rec := f.osDo("PUT", file, tok, string(data), "Content-Type", "application/octet-stream"); rec.Code != http.StatusNoContent {
		t.Fatalf("store file = %d %s", rec.Code, rec.Body)
	}
	var shown map[string]any
	decodeInto(t, f.osDo("GET", "/image/v2/images/"+img.ID, tok, ""), &shown)
	if shown["ramdisk_id"] != ramdisk || shown["size"] != float64(1024) || shown["name"] != "tempest-image-1" {
		t.Errorf("show = %v, want ramdisk_id kept and size 1024", shown)
	}
	if rec := f.osDo("GET", file, tok, ""); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) {
		t.Errorf("file = %d, %d bytes; want 200 with the stored bytes", rec.Code, rec.Body.Len())
	}
	rec := f.osDo("PATCH", "/image/v2/images/"+img.ID, tok, `[{"replace":"/name","value":"new-image-2"}]`,
		"Content-Type", "application/openstack-images-v2.0-json-patch")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"new-image-2"`) {
		t.Errorf("update_image = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("DELETE", "/image/v2/images/"+img.ID, tok, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete = %d %s", rec.Code, rec.Body)
	}
	if rec := f.osDo("GET", "/image/v2/images/"+img.ID, tok, ""); rec.Code != http.StatusNotFound {
		t.Errorf("show after delete = %d, want 404", rec.Code)
	}
	if rec := f.osDo("GET", "/image/v2/images", tok, ""); strings.Contains(rec.Body.String(), img.ID) {
		t.Errorf("the list after delete still has the image: %s", rec.Body)
	}
}

// Deactivate and reactivate are not offered: 404 with Glance's body, naming why.
func TestGlanceDeactivateIsNotOffered(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	img := glanceCreate(t, f, tok, `{"name":"d","disk_format":"raw","container_format":"bare"}`)
	for _, action := range []string{"deactivate", "reactivate"} {
		rec := f.osDo("POST", "/image/v2/images/"+img.ID+"/actions/"+action, tok, "")
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "cannot be deactivated") {
			t.Errorf("%s = %d %s, want 404 saying so", action, rec.Code, rec.Body)
		}
	}
}

// The upload route streams bodies far over the API's JSON cap (the listener gives Glance's file
// route the image upload cap), and an image a volume stands on is not deleted: cloudlet's 409,
// naming the volume, until the volume is gone.
func TestGlanceUploadsOverTheJSONCapAndAnImageInUseIsNotDeleted(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	img := glanceCreate(t, f, tok, `{"name":"big","disk_format":"raw","container_format":"bare"}`)
	data := bytes.Repeat([]byte("cloudlet"), 3*DefaultMaxBodyBytes/8)
	if rec := f.osDo("PUT", "/image/v2/images/"+img.ID+"/file", tok, string(data), "Content-Type", "application/octet-stream"); rec.Code != http.StatusNoContent {
		t.Fatalf("upload of %d bytes = %d %s, want 204", len(data), rec.Code, rec.Body)
	}
	if native, _ := nativeImage(t, f, tok, img.ID); native.Status != images.StatusActive || native.Size != int64(len(data)) {
		t.Fatalf("/api/v1 has %+v, want active with %d bytes", native, len(data))
	}
	pa, err := f.ids.Resolve(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	_, drop := testkit.ImageVolume(t, f.db, "root", pa.ProjectID, img.ID)
	if rec := f.osDo("DELETE", "/image/v2/images/"+img.ID, tok, ""); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "volume root") {
		t.Errorf("delete of an image in use = %d %s, want 409 naming the volume", rec.Code, rec.Body)
	}
	drop()
	if rec := f.osDo("DELETE", "/image/v2/images/"+img.ID, tok, ""); rec.Code != http.StatusNoContent {
		t.Errorf("delete once unused = %d %s, want 204", rec.Code, rec.Body)
	}
}

// hw_firmware_type=uefi, Nova's image property, also gives the image UEFI firmware in /api/v1 (kept
// as a property too); without it an image boots with BIOS, cloudlet's default.
func TestGlanceFirmwarePropertyPicksUEFI(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	uefi := glanceCreate(t, f, tok, `{"name":"efi","disk_format":"raw","container_format":"bare","hw_firmware_type":"uefi"}`)
	plain := glanceCreate(t, f, tok, `{"name":"bios","disk_format":"raw","container_format":"bare"}`)
	if native, _ := nativeImage(t, f, tok, uefi.ID); native.Firmware != images.FirmwareUEFI || native.Properties["hw_firmware_type"] != "uefi" {
		t.Errorf("/api/v1 has %+v, want UEFI firmware and the property", native)
	}
	if native, _ := nativeImage(t, f, tok, plain.ID); native.Firmware != images.FirmwareBIOS {
		t.Errorf("/api/v1 has %+v, want BIOS firmware", native)
	}
}
