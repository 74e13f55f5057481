package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// httpAPI talks to a daemon's TCP listener with an optional bearer token, as a remote client would.
type httpAPI struct {
	t    *testing.T
	base string
}

// call sends a JSON request and returns the status, decoding a 2xx answer into out.
func (h httpAPI) call(method, path, token string, in, out any) int {
	h.t.Helper()
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			h.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.base+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

func (h httpAPI) login(user, password, project string) (token, id string) {
	h.t.Helper()
	var tok struct{ ID, Token string }
	if code := h.call("POST", "/api/v1/auth/tokens", "", map[string]string{"username": user, "password": password,
		"project": project}, &tok); code != 201 || tok.Token == "" {
		h.t.Fatalf("login %s on %s = %d", user, project, code)
	}
	return tok.Token, tok.ID
}

// addMember makes project p and user (with password) a member of it, as admin, and returns the
// user's token in p.
func (h httpAPI) addMember(admin, p, user, password string) string {
	h.t.Helper()
	for _, step := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/projects", map[string]any{"name": p}},
		{"POST", "/api/v1/users", map[string]any{"name": user, "password": password, "enabled": true, "default_project": p}},
		{"PUT", "/api/v1/projects/" + p + "/users/" + user + "/roles/member", nil},
	} {
		if code := h.call(step.method, step.path, admin, step.body, nil); code/100 != 2 {
			h.t.Fatalf("%s %s as admin = %d", step.method, step.path, code)
		}
	}
	token, _ := h.login(user, password, p)
	return token
}

// With trust_loopback off, TCP callers log in: admin with the bootstrap password makes project p1
// and user u1 (member of p1); u1 logs in, lists its instances but not users; a revoked token is
// refused; no password or token reaches the daemon's output.
func TestAuthOverTCP(t *testing.T) {
	d := NewDaemon(t, cloudletBin)
	d.Start(t, "--config", writeFile(t, "cloudlet.json", `{"trust_loopback": false}`))
	d.WaitReady(t)
	api := httpAPI{t: t, base: "http://" + d.Listen}
	raw, err := os.ReadFile(filepath.Join(d.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	if code := api.call("GET", "/api/v1/instances", "", nil, nil); code != 401 {
		t.Fatalf("loopback without a token = %d, want 401", code)
	}
	admin, _ := api.login("admin", strings.TrimSpace(string(raw)), "admin")
	const canary = "canary-pw-5c1d9e0b7a"
	for _, step := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/api/v1/projects", map[string]any{"name": "p1"}, 201},
		{"POST", "/api/v1/users", map[string]any{"name": "u1", "password": canary, "enabled": true, "default_project": "p1"}, 201},
		{"PUT", "/api/v1/projects/p1/users/u1/roles/member", nil, 204},
	} {
		if code := api.call(step.method, step.path, admin, step.body, nil); code != step.want {
			t.Fatalf("%s %s as admin = %d, want %d", step.method, step.path, code, step.want)
		}
	}
	u1, u1ID := api.login("u1", canary, "p1")
	var list []json.RawMessage
	if code := api.call("GET", "/api/v1/instances", u1, nil, &list); code != 200 || len(list) != 0 {
		t.Errorf("u1 lists instances = %d %d, want 200 and none", code, len(list))
	}
	if code := api.call("GET", "/api/v1/users", u1, nil, nil); code != 403 {
		t.Errorf("u1 lists users = %d, want 403", code)
	}
	if code := api.call("DELETE", "/api/v1/auth/tokens/"+u1ID, u1, nil, nil); code != 204 {
		t.Fatalf("u1 revokes its token = %d", code)
	}
	if code := api.call("GET", "/api/v1/instances", u1, nil, nil); code != 401 {
		t.Errorf("revoked token = %d, want 401", code)
	}
	out := d.Stdout() + d.Stderr()
	for name, secret := range map[string]string{"u1's password": canary, "u1's token": u1, "admin's token": admin} {
		if strings.Contains(out, secret) {
			t.Errorf("the daemon's output holds %s", name)
		}
	}
	if !strings.Contains(out, "/api/v1/auth/tokens") {
		t.Errorf("the daemon logged no request; output:\n%s", out)
	}
}
