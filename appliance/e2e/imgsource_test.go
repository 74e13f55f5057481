package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Where image bytes may come from (findings 3, 7, 17) against the real daemon: imports read only the
// import directory, URL imports reach neither the host nor a port or address they may not, and a
// trickling download ends or is deleted cleanly.

// bareCloud starts a daemon without importing the test guest: these tests only import.
func bareCloud(t *testing.T, config string) *Cloud {
	t.Helper()
	d := NewDaemon(t, cloudletBin)
	var extra []string
	if config != "" {
		extra = append(extra, "--config", writeFile(t, "cloudlet.json", config))
	}
	d.Start(t, extra...)
	d.WaitReady(t)
	return CloudOf(t, d)
}

// Finding 3: an admin's file import read /etc/shadow, a symlink to it, catalog.db and
// admin-password. Now each is refused with 400 and one message naming the import directory; a
// file placed in the import directory imports.
func TestProbe03FileImportReadsOnlyTheImportDir(t *testing.T) {
	c := bareCloud(t, "")
	imports := c.D.ImportDir()
	if fi, err := os.Stat(imports); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("import dir %s: %v, %v; want created 0700 at start", imports, fi, err)
	}
	if err := os.Symlink("/etc/shadow", filepath.Join(imports, "shadow.raw")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(c.D.DataDir, filepath.Join(imports, "data")); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/etc/shadow", "shadow.raw", filepath.Join(imports, "shadow.raw"), "../catalog.db",
		filepath.Join(imports, "..", "admin-password"), filepath.Join(c.D.DataDir, "admin-password"), "data/catalog.db"} {
		body := fmt.Sprintf(`{"name":"stolen","disk_format":"raw","visibility":"public","path":%q}`, path)
		status, answer := apiStatus(t, c, "POST", "/api/v1/images/import-file", body)
		if status != http.StatusBadRequest || !strings.Contains(answer, "only regular files inside the import directory "+imports) {
			t.Errorf("import of %s: %d %s, want 400 naming the import directory", path, status, answer)
		}
	}
	if status, _ := apiStatus(t, c, "GET", "/api/v1/images/stolen", ""); status != http.StatusNotFound {
		t.Errorf("an image stolen exists (%d)", status)
	}
	if err := os.WriteFile(filepath.Join(imports, "disk.raw"), make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	status, answer := apiStatus(t, c, "POST", "/api/v1/images/import-file", `{"name":"ok","disk_format":"raw","path":"disk.raw"}`)
	if status != http.StatusCreated || !strings.Contains(answer, `"status":"active"`) {
		t.Errorf("import of a file in the import dir: %d %s", status, answer)
	}
}

// listenIn serves handler on addr in the test's namespace (the daemon's) or, with o, in the outer one.
func listenIn(t *testing.T, o *outer, addr string, handler http.HandlerFunc) {
	t.Helper()
	var l net.Listener
	listen := func() (err error) { l, err = net.Listen("tcp4", addr); return err }
	var err error
	if o != nil {
		err = o.run(listen)
	} else {
		err = listen()
	}
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: handler}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
}

// importURL asks for a URL import and returns the image's ID.
func (c *Cloud) importURL(name, url string) string {
	c.T.Helper()
	var img struct{ ID string }
	if err := c.Do("POST", "/api/v1/images/import", map[string]any{"name": name, "disk_format": "raw", "url": url}, &img); err != nil {
		c.T.Fatalf("import %s from %s: %v", name, url, err)
	}
	return img.ID
}

type imageState struct{ ID, Status, Fault string }

// waitImageSettled polls an image until it is active or killed.
func (c *Cloud) waitImageSettled(id string, limit time.Duration) imageState {
	c.T.Helper()
	var img imageState
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := c.Do("GET", "/api/v1/images/"+id, nil, &img); err != nil {
			c.T.Fatal(err)
		}
		if img.Status == "active" || img.Status == "killed" {
			return img
		}
	}
	c.T.Fatalf("image %s did not settle: %+v", id, img)
	return img
}

// Finding 7: URL imports fetched from the host's own non-loopback address, and errors told a
// refused address from a closed port from no route. Now the host's address (203.0.113.1 on its
// uplink, with a server there), a port other than 80 and 443, a closed port and an unroutable
// address all end killed with the same fault but the URL; the host's server is never reached; the
// daemon's debug log alone tells the four apart.
func TestProbe07URLImportsGetOneErrorAndNeverTheHost(t *testing.T) {
	o := newOuter(t)
	c := bareCloud(t, `{"log_level": "debug"}`)
	var hostHits atomic.Int64
	listenIn(t, nil, outerHostIP+":80", func(w http.ResponseWriter, r *http.Request) {
		hostHits.Add(1)
		io.WriteString(w, "host secret")
	})
	listenIn(t, o, outerIP+":22", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ssh") })
	urls := map[string]string{
		"host":       "http://" + outerHostIP + "/",
		"port-22":    "http://" + outerIP + ":22/",
		"closed":     "http://" + outerIP + ":443/", // nothing listens there: refused
		"unroutable": "http://198.51.100.7/",        // the daemon's namespace has no default route
	}
	ids := map[string]string{}
	for name, url := range urls {
		ids[name] = c.importURL(name, url)
	}
	var first string
	for name, id := range ids {
		img := c.waitImageSettled(id, time.Minute)
		fault := strings.ReplaceAll(img.Fault, strings.TrimSuffix(urls[name], "/"), "URL")
		fault = strings.ReplaceAll(fault, "image "+name+" ", "image NAME ")
		if img.Status != "killed" || !strings.Contains(fault, "could not connect to the server") {
			t.Errorf("%s: %s %q, want killed, could not connect", name, img.Status, img.Fault)
		}
		if first == "" {
			first = fault
		} else if fault != first {
			t.Errorf("faults differ:\n%s\n%s", first, fault)
		}
	}
	if n := hostHits.Load(); n != 0 {
		t.Errorf("the host's own server got %d requests", n)
	}
	if got := dirEntries(t, filepath.Join(c.D.DataDir, "images")); got != "" {
		t.Errorf("images dir holds %s", got)
	}
	for _, why := range []string{"it is an address of this host", "port 22 is not one of the allowed ports", "connection refused", "network is unreachable"} {
		if !strings.Contains(c.D.Stderr(), why) {
			t.Errorf("the daemon's debug log does not say %q", why)
		}
	}
}

// Finding 17: a URL import trickling a byte now and then stayed saving until a restart and could
// not be deleted. Now it is killed once a rate window passes under the minimum rate, and a steady
// but endless download is cancelled by DELETE: 204, then gone, with no file left either way.
func TestProbe17TricklingURLImportFailsAndSavingOneDeletes(t *testing.T) {
	o := newOuter(t)
	c := bareCloud(t, `{"image_import_min_rate": 1024, "image_import_rate_window": "2s"}`)
	hungUp := make(chan string, 4)
	listenIn(t, o, outerIP+":80", func(w http.ResponseWriter, r *http.Request) {
		defer func() { hungUp <- r.URL.Path }()
		chunk, every := 1, 500*time.Millisecond // the trickle: 2 bytes/s
		if r.URL.Path == "/steady" {
			chunk, every = 4096, 100*time.Millisecond // 40 KiB/s, for ever
		}
		w.Header().Set("Content-Length", "1000000000")
		for tick := time.NewTicker(every); ; <-tick.C {
			if _, err := w.Write(make([]byte, chunk)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			if r.Context().Err() != nil {
				return
			}
		}
	})
	slow := c.importURL("trickle", "http://"+outerIP+"/trickle")
	img := c.waitImageSettled(slow, 30*time.Second)
	if img.Status != "killed" || !strings.Contains(img.Fault, "slower than the minimum of 1024 bytes/s over 2s") {
		t.Errorf("trickling import: %s %q, want killed for its rate", img.Status, img.Fault)
	}
	if path := <-hungUp; path != "/trickle" {
		t.Errorf("%s hung up first", path)
	}

	steady := c.importURL("steady", "http://"+outerIP+"/steady")
	for deadline := time.Now().Add(30 * time.Second); img.Status != "saving" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c.Do("GET", "/api/v1/images/"+steady, nil, &img)
	}
	if img.Status != "saving" {
		t.Fatalf("steady import: %+v, want saving", img)
	}
	if status, answer := apiStatus(t, c, "DELETE", "/api/v1/images/"+steady, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE of a saving image: %d %s", status, answer)
	}
	if status, _ := apiStatus(t, c, "GET", "/api/v1/images/"+steady, ""); status != http.StatusNotFound {
		t.Errorf("the deleted image still answers %d", status)
	}
	if path := <-hungUp; path != "/steady" {
		t.Errorf("%s hung up, want /steady", path)
	}
	c.Do("DELETE", "/api/v1/images/"+slow, nil, nil)
	if got := dirEntries(t, filepath.Join(c.D.DataDir, "images")); got != "" {
		t.Errorf("images dir holds %s", got)
	}
}

// Finding 18: a qcow2 uploaded as raw was accepted. Now it is refused with 400 naming the real
// format, and nothing is left in the images dir.
func TestProbe18Qcow2UploadedAsRawIsRefused(t *testing.T) {
	c := bareCloud(t, "")
	disk := filepath.Join(t.TempDir(), "disk.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", disk, "1M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v: %s", err, out)
	}
	data, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	var img struct{ ID string }
	if err := c.Do("POST", "/api/v1/images", map[string]any{"name": "confused", "disk_format": "raw"}, &img); err != nil {
		t.Fatal(err)
	}
	answer := rawRequest(t, c, "PUT", "/api/v1/images/"+img.ID+"/file", "application/octet-stream", data, http.StatusBadRequest)
	if !strings.Contains(answer, "declared raw but its content is a qcow2 image") {
		t.Errorf("answer %s does not name the mismatch", answer)
	}
	if got := dirEntries(t, filepath.Join(c.D.DataDir, "images")); got != "" {
		t.Errorf("images dir holds %s", got)
	}
}
