package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/images"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

// newImagesServer serves the API over a real image service (real catalog, real qemu-img) with
// the default 1 MiB JSON cap. Compute is a zero service: image routes never call it.
func newImagesServer(t *testing.T, opts ...func(*images.Options)) (*Server, *images.Service) {
	t.Helper()
	s, imgs, _ := newImagesServerOn(t, opts...)
	return s, imgs
}

// newImagesServerOn is newImagesServer that also returns its catalog.
func newImagesServerOn(t *testing.T, opts ...func(*images.Options)) (*Server, *images.Service, *store.DB) {
	t.Helper()
	dir := t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	o := images.Options{Dir: filepath.Join(dir, "images")}
	for _, opt := range opts {
		opt(&o)
	}
	imgs, err := images.New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imgs.Close() })
	s, err := New(Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Host: testHostService(),
		Backup:  func(io.Writer) (int64, error) { return 0, nil },
		Events:  func(uint64, int) ([]json.RawMessage, error) { return nil, nil },
		Compute: &compute.Service{}, Images: imgs, Volumes: &volume.Service{}, Networks: &network.Service{}, DefaultProject: "p1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, imgs, db
}

func decodeImage(t *testing.T, rec *httptest.ResponseRecorder) images.Image {
	t.Helper()
	var img images.Image
	if err := json.Unmarshal(rec.Body.Bytes(), &img); err != nil {
		t.Fatalf("answer %d %q is not an image: %v", rec.Code, rec.Body, err)
	}
	return img
}

// call is do with a JSON body.
func call(t *testing.T, s *Server, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return do(t, s, method, path, loopbackAddr, r)
}

func expect(t *testing.T, rec *httptest.ResponseRecorder, code int, contains string) {
	t.Helper()
	if rec.Code != code || !strings.Contains(rec.Body.String(), contains) {
		t.Errorf("answer %d %s, want %d containing %q", rec.Code, rec.Body, code, contains)
	}
}

// The upload route streams bodies far larger than the 1 MiB JSON cap; download gives the bytes
// back with their length and sha256.
func TestImageUploadAndDownload(t *testing.T) {
	s, _ := newImagesServer(t)
	expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"disk","disk_format":"raw","min_ram_mib":256}`), 201, `"status":"queued"`)
	data := bytes.Repeat([]byte("cloudlet"), 3<<20/8) // 3 MiB
	rec := do(t, s, "PUT", "/api/v1/images/disk/file", loopbackAddr, bytes.NewReader(data))
	expect(t, rec, 200, `"status":"active"`)
	sum := sha256.Sum256(data)
	if img := decodeImage(t, rec); img.Size != int64(len(data)) || img.Checksum != hex.EncodeToString(sum[:]) {
		t.Errorf("uploaded image = %+v", img)
	}
	expect(t, do(t, s, "PUT", "/api/v1/images/disk/file", loopbackAddr, bytes.NewReader(data)), 409, "only once")

	rec = call(t, s, "GET", "/api/v1/images/disk/file", "")
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) || rec.Header().Get("Content-Length") != "3145728" ||
		rec.Header().Get(ImageChecksumHeader) != hex.EncodeToString(sum[:]) {
		t.Errorf("GET file = %d, %d bytes, headers %v", rec.Code, rec.Body.Len(), rec.Header())
	}
	req := httptest.NewRequest("GET", "/api/v1/images/disk/file", nil)
	req.RemoteAddr, req.Header = loopbackAddr, map[string][]string{"Range": {"bytes=8-15"}}
	rr := httptest.NewRecorder()
	s.Handler().ServeHTTP(rr, req)
	if rr.Code != 206 || rr.Body.String() != "cloudlet" {
		t.Errorf("ranged GET = %d %q", rr.Code, rr.Body)
	}
}

func TestImageRoutesBadInput(t *testing.T) {
	s, imgs := newImagesServer(t, func(o *images.Options) { o.MaxUploadBytes = 2 << 20 })
	backed := filepath.Join(t.TempDir(), "backed.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "/etc/passwd", "-F", "raw", backed, "1M").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	backedData, err := os.ReadFile(backed)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"capped", "chunked", "evil", "empty"} {
		expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"`+name+`","disk_format":"qcow2"}`), 201, "queued")
	}

	t.Run("create", func(t *testing.T) {
		expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"x","disk_format":"vpc"}`), 400, "not supported")
		expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"../x","disk_format":"raw"}`), 400, "invalid name")
		expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"capped","disk_format":"raw"}`), 409, "already exists")
	})
	t.Run("declared length over the cap: 413, still queued", func(t *testing.T) {
		expect(t, do(t, s, "PUT", "/api/v1/images/capped/file", loopbackAddr, bytes.NewReader(make([]byte, 2<<20+1))), 413, "larger than 2097152")
		expect(t, call(t, s, "GET", "/api/v1/images/capped", ""), 200, `"status":"queued"`)
	})
	t.Run("chunked body over the cap: 413, killed", func(t *testing.T) {
		req := httptest.NewRequest("PUT", "/api/v1/images/chunked/file", io.MultiReader(bytes.NewReader(make([]byte, 2<<20)), strings.NewReader("x")))
		req.ContentLength, req.RemoteAddr = -1, loopbackAddr
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		expect(t, rec, 413, "larger than the cap")
		expect(t, call(t, s, "GET", "/api/v1/images/chunked", ""), 200, `"status":"killed"`)
	})
	t.Run("backing file: 400, killed", func(t *testing.T) {
		expect(t, do(t, s, "PUT", "/api/v1/images/evil/file", loopbackAddr, bytes.NewReader(backedData)), 400, "backing file")
		expect(t, call(t, s, "GET", "/api/v1/images/evil", ""), 200, "backing file")
	})
	t.Run("upload to a missing image", func(t *testing.T) {
		expect(t, do(t, s, "PUT", "/api/v1/images/nope/file", loopbackAddr, strings.NewReader("x")), 404, "not found")
	})
	t.Run("download of a queued image", func(t *testing.T) {
		expect(t, call(t, s, "GET", "/api/v1/images/empty/file", ""), 409, "queued")
	})
	t.Run("import from a file URL: 400, nothing created", func(t *testing.T) {
		expect(t, call(t, s, "POST", "/api/v1/images/import", `{"name":"f","disk_format":"raw","url":"file:///etc/passwd"}`), 400, "only http and https")
		expect(t, call(t, s, "GET", "/api/v1/images/f", ""), 404, "not found")
	})
	t.Run("import from loopback: 202, then killed", func(t *testing.T) {
		rec := call(t, s, "POST", "/api/v1/images/import", `{"name":"lo","disk_format":"raw","url":"http://127.0.0.1:9/disk"}`)
		expect(t, rec, 202, `"status":"queued"`)
		img := waitImage(t, imgs, "lo")
		if img.Status != images.StatusKilled || !strings.Contains(img.Fault, "could not connect") { // one error for every refused or failed connection (finding 7)
			t.Errorf("import from loopback ended %+v", img)
		}
	})
}

func waitImage(t *testing.T, imgs *images.Service, name string) *images.Image {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		img, err := imgs.Get(context.Background(), "p1", name)
		if err != nil {
			t.Fatal(err)
		}
		if img.Status == images.StatusActive || img.Status == images.StatusKilled {
			return img
		}
	}
	t.Fatalf("image %s did not settle", name)
	return nil
}

// An image something uses is not deleted: the image service finds the volume standing on it in the
// catalog (its hold) and refuses with 409 naming it; once the volume is gone, the image goes.
func TestImageMembersAndInUse(t *testing.T) {
	s, imgs, db := newImagesServerOn(t)
	expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"gold","disk_format":"raw"}`), 201, "queued")
	expect(t, do(t, s, "PUT", "/api/v1/images/gold/file", loopbackAddr, strings.NewReader("bytes")), 200, "active")
	expect(t, call(t, s, "POST", "/api/v1/images/gold/members", `{"project":"p2"}`), 200, `"members":[{"project_id":"p2","status":"pending"}]`)
	expect(t, call(t, s, "POST", "/api/v1/images/gold/members", `{"project":"../p"}`), 400, "not a valid project")
	expect(t, call(t, s, "POST", "/api/v1/images/gold/members", `{"projects":"p2"}`), 400, "unknown field")
	expect(t, call(t, s, "DELETE", "/api/v1/images/gold/members/p3", ""), 404, "not shared with")
	expect(t, call(t, s, "DELETE", "/api/v1/images/gold/members/p2", ""), 200, `"visibility":"shared"`)
	gold, err := imgs.Get(context.Background(), "p1", "gold")
	if err != nil {
		t.Fatal(err)
	}
	id, drop := testkit.ImageVolume(t, db, "web-root", "p1", gold.ID)
	expect(t, call(t, s, "DELETE", "/api/v1/images/gold", ""), 409, "image gold is used by volume web-root ("+id+")")
	expect(t, call(t, s, "GET", "/api/v1/images/gold", ""), 200, "active")
	drop()
	expect(t, call(t, s, "DELETE", "/api/v1/images/gold", ""), 204, "")
}

// A client that disconnects half-way through an upload leaves a killed image and no file.
func TestImageUploadCutOff(t *testing.T) {
	var dir string
	s, imgs := newImagesServer(t, func(o *images.Options) { dir = o.Dir })
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	expect(t, call(t, s, "POST", "/api/v1/images", `{"name":"cut","disk_format":"raw"}`), 201, "queued")
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /api/v1/images/cut/file HTTP/1.1\r\nHost: cloudlet\r\nContent-Length: %d\r\n\r\n", 8<<20)
	conn.Write(make([]byte, 3<<20))
	conn.Close()
	img := waitImage(t, imgs, "cut")
	if img.Status != images.StatusKilled || !strings.Contains(img.Fault, "cut off") {
		t.Errorf("image after a cut-off upload: %+v", img)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("image dir after a cut-off upload: %v", ents)
	}
}
