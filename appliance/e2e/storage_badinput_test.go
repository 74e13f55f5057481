package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Storage bad input against the real daemon: each request ends in a clean 4xx or a killed image with a
// reason, and no file is left in the images dir or the pool.
func TestStorageBadInput(t *testing.T) {
	c := newCloud(t, "")
	dir := t.TempDir()
	backed := filepath.Join(dir, "backed.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/passwd", backed).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	backedBytes, _ := os.ReadFile(backed)
	whole := filepath.Join(dir, "whole.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", whole, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	wholeBytes, _ := os.ReadFile(whole)
	imagesBefore := dirEntries(t, filepath.Join(c.D.DataDir, "images"))
	poolBefore := dirEntries(t, filepath.Join(c.D.DataDir, "pools", "default"))

	t.Run("qcow2 backed by a host file", func(t *testing.T) {
		var img struct{ ID string }
		if err := c.Do("POST", "/api/v1/images", map[string]any{"name": "evil", "disk_format": "qcow2"}, &img); err != nil {
			t.Fatal(err)
		}
		body := rawRequest(t, c, "PUT", "/api/v1/images/"+img.ID+"/file", "application/octet-stream", backedBytes, http.StatusBadRequest)
		if !strings.Contains(body, "backing") {
			t.Errorf("answer %s does not name the backing file", body)
		}
	})
	t.Run("qcow2 truncated after its header", func(t *testing.T) {
		var img struct{ ID, Status string }
		if err := c.Do("POST", "/api/v1/images", map[string]any{"name": "cut", "disk_format": "qcow2"}, &img); err != nil {
			t.Fatal(err)
		}
		body := rawRequest(t, c, "PUT", "/api/v1/images/"+img.ID+"/file", "application/octet-stream", wholeBytes[:300], http.StatusBadRequest)
		if !strings.Contains(body, "past the end of the 300-byte file") {
			t.Errorf("answer %s does not say the tables lie past the end of the file", body)
		}
		if err := c.Do("GET", "/api/v1/images/"+img.ID, nil, &img); err != nil || img.Status == "active" {
			t.Errorf("truncated image: status %q (%v), want it not active", img.Status, err)
		}
	})
	t.Run("URL import from loopback", func(t *testing.T) {
		var img struct{ ID, Status, Fault string }
		err := c.Do("POST", "/api/v1/images/import", map[string]any{"name": "loop", "disk_format": "raw",
			"url": "http://" + c.D.Listen + "/healthz"}, &img)
		if err != nil {
			return // refused at request time: fine
		}
		deadline := time.Now().Add(30 * time.Second)
		for img.Status != "killed" && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			c.Do("GET", "/api/v1/images/"+img.ID, nil, &img)
		}
		if img.Status != "killed" || !strings.Contains(img.Fault, "could not connect") {
			t.Errorf("import from the daemon's own loopback address: status %s fault %q, want killed, could not connect", img.Status, img.Fault)
		}
	})
	for _, tc := range []struct{ name, body, want string }{
		{"file URL", `{"name":"f","disk_format":"raw","url":"file:///etc/passwd"}`, "http"},
		{"volume larger than the cap", `{"name":"huge","size_gib":99999999}`, "size"},
		{"negative size", `{"name":"neg","size_gib":-1}`, "size"},
		{"hostile name", `{"name":"../x","size_gib":1}`, "name"},
		{"unknown image", `{"name":"x","image":"nope","size_gib":1}`, "nope"},
	} {
		path := "/api/v1/volumes"
		if strings.Contains(tc.body, "url") {
			path = "/api/v1/images/import"
		}
		status, body := apiStatus(t, c, "POST", path, tc.body)
		if status < 400 || status >= 500 || !strings.Contains(strings.ToLower(body), tc.want) {
			t.Errorf("%s: %d %s, want a 4xx naming %q", tc.name, status, body, tc.want)
		}
	}
	if got := dirEntries(t, filepath.Join(c.D.DataDir, "images")); got != imagesBefore {
		t.Errorf("images dir changed: %s → %s", imagesBefore, got)
	}
	if got := dirEntries(t, filepath.Join(c.D.DataDir, "pools", "default")); got != poolBefore {
		t.Errorf("pool changed: %s → %s", poolBefore, got)
	}
	var vols []json.RawMessage
	if err := c.Do("GET", "/api/v1/volumes", nil, &vols); err != nil || len(vols) != 0 {
		t.Errorf("%d volumes after bad requests (%v)", len(vols), err)
	}
}

func dirEntries(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}
