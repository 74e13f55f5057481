package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// instance create sends the user-data file base64-encoded, the hostname, metadata, config drive and a
// password; --generate-password sends a fresh one and prints it once, on stderr; rebuild sends what
// replaces the guest's.
func TestInstanceCreateGuestFlags(t *testing.T) {
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &body); err != nil {
			t.Errorf("request body %s: %v", data, err)
		}
		bodies = append(bodies, body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"id":"i1","name":"vm","vm_state":"building"}`)
	}))
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "user-data")
	if err := os.WriteFile(file, []byte("#cloud-config\nruncmd: [true]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, srv.URL, "instance", "create", "vm", "--image", "tg", "--user-data", file, "--hostname", "web-1",
		"--metadata", "role=db", "--metadata", "tier=a=b", "--config-drive", "none", "--password", "s3cret")
	b := bodies[0]
	ud, _ := base64.StdEncoding.DecodeString(b["user_data"].(string))
	if string(ud) != "#cloud-config\nruncmd: [true]\n" || b["hostname"] != "web-1" || b["config_drive"] != "none" || b["password"] != "s3cret" {
		t.Errorf("sent %v", b)
	}
	if m := b["metadata"].(map[string]any); m["role"] != "db" || m["tier"] != "a=b" {
		t.Errorf("metadata sent %v", m)
	}
	_, errOut := mustCLI(t, srv.URL, "instance", "create", "vm", "--image", "tg", "--generate-password")
	sent := bodies[1]["password"].(string)
	if len(sent) < 16 || strings.Count(errOut, sent) != 1 {
		t.Errorf("generated password %q; stderr %q: want it sent and printed once", sent, errOut)
	}
	if _, _, err := cli(t, srv.URL, "instance", "create", "vm", "--image", "tg", "--password", "x", "--generate-password"); err == nil {
		t.Error("--password with --generate-password was accepted")
	}
	mustCLI(t, srv.URL, "instance", "rebuild", "vm", "--user-data", file, "--metadata", "role=web")
	if rb := bodies[len(bodies)-1]; rb["user_data"] == nil || rb["metadata"].(map[string]any)["role"] != "web" || rb["password"] != nil {
		t.Errorf("rebuild sent %v; want the new user-data and metadata, no password", rb)
	}
	sentBefore := len(bodies)
	big := filepath.Join(t.TempDir(), "big")
	os.WriteFile(big, make([]byte, 64<<10+1), 0o600)
	if _, _, err := cli(t, srv.URL, "instance", "create", "vm", "--image", "tg", "--user-data", big); err == nil || len(bodies) != sentBefore {
		t.Errorf("user-data over 64 KiB: %v, %d requests", err, len(bodies))
	}
}
