package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/web/client"
)

const tokenJSON = `{"id":"tok-1","token":"cl_secret_token","expires_at":"2099-01-01T00:00:00Z","user_id":"u-1","project_id":"p-1"}`

// configHome gives the test its own empty config directory and returns the config file's path.
func configHome(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	return filepath.Join(dir, "cloudlet", "config.json")
}

func writeConfig(t *testing.T, path string, mode os.FileMode, logins ...storedLogin) {
	t.Helper()
	if err := (&userConfig{Logins: logins}).save(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestLoginStoresTokenNeverPassword(t *testing.T) {
	path := configHome(t)
	api := newFakeAPI(t)
	api.answerWith(http.StatusCreated, tokenJSON)
	const password = "correct horse battery"
	for _, extra := range [][]string{{"--password-stdin"}, nil} { // stdin is no terminal: both read a line
		args := append([]string{"login", "--url", api.URL, "--user", "alice", "--project", "demo"}, extra...)
		out, errOut, err := runIn(password+"\n", args...)
		if err != nil {
			t.Fatalf("login %v: %v", extra, err)
		}
		if strings.Contains(out+errOut, password) {
			t.Errorf("login printed the password: %q %q", out, errOut)
		}
		r := api.only()
		if r.Method != "POST" || r.Path != "/api/v1/auth/tokens" || r.Auth != "" || r.Project != "" {
			t.Errorf("login request = %+v", r)
		}
		wantJSON(t, "login", r.Body, `{"username":"alice","password":"correct horse battery","project":"demo"}`)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("config mode %v in dir %v, want 0600 in 0700", fi.Mode(), di.Mode())
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), password) {
		t.Errorf("config holds the password:\n%s", b)
	}
	var cfg userConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	want := []storedLogin{{URL: api.URL, Token: "cl_secret_token", TokenID: "tok-1", User: "alice", Project: "demo",
		ExpiresAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if diff := cmp.Diff(want, cfg.Logins); diff != "" {
		t.Errorf("stored logins (-want +got):\n%s", diff)
	}

	// Later commands need neither --url nor --token.
	api.answerWith(http.StatusOK, `[]`)
	if _, _, err := runIn("", "project", "list"); err != nil {
		t.Fatal(err)
	}
	if r := api.only(); r.Auth != "Bearer cl_secret_token" || r.Path != "/api/v1/projects" {
		t.Errorf("after login, project list sent %+v", r)
	}
}

func TestLoginFailures(t *testing.T) {
	for _, tc := range []struct {
		code int
		want string
	}{
		{http.StatusUnauthorized, "wrong user, password or project"},
		{http.StatusTooManyRequests, "too many failed logins"},
	} {
		path := configHome(t)
		api := newFakeAPI(t)
		api.answerWith(tc.code, `{"error":{"message":"no"}}`)
		_, _, err := runIn("pw\n", "login", "--url", api.URL, "--user", "alice", "--password-stdin")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("login answered %d: err = %v, want %q", tc.code, err, tc.want)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("a failed login wrote %s", path)
		}
	}
	configHome(t)
	if _, _, err := runIn("\n", "login", "--url", "http://127.0.0.1:9", "--user", "a", "--password-stdin"); err == nil ||
		!strings.Contains(err.Error(), "empty") {
		t.Errorf("empty password: %v", err)
	}
}

func TestConfigReadableByOthersIsRefused(t *testing.T) {
	path := configHome(t)
	writeConfig(t, path, 0o644, storedLogin{URL: "http://x", Token: "t", User: "alice"})
	for _, args := range [][]string{{"project", "list"}, {"--url", "http://x", "project", "list"}, {"logout"},
		{"login", "--user", "alice", "--password-stdin"}} {
		_, _, err := runIn("pw\n", args...)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("%v with a 0644 config: err = %v", args, err)
		}
	}
	// Commands that do not call the API still work.
	if _, _, err := runIn("", "version"); err != nil {
		t.Errorf("version with a 0644 config: %v", err)
	}
}

func TestConnectionPrecedence(t *testing.T) {
	stored := storedLogin{URL: "https://cloud.example/", Token: "stored", TokenID: "t1", User: "alice",
		ExpiresAt: time.Now().Add(time.Hour)}
	expired := stored
	expired.ExpiresAt = time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name        string
		logins      []storedLogin
		url, token  string
		env         string
		socketGiven bool
		want        connection
		wantErr     string
	}{
		{name: "nothing: default socket", want: connection{Socket: client.DefaultSocket}},
		{name: "stored login", logins: []storedLogin{stored}, want: connection{URL: stored.URL, Token: "stored"}},
		{name: "--socket beats a login", logins: []storedLogin{stored}, socketGiven: true,
			want: connection{Socket: client.DefaultSocket}},
		{name: "--url with its stored token", logins: []storedLogin{stored}, url: "https://cloud.example",
			want: connection{URL: "https://cloud.example", Token: "stored"}},
		{name: "--url of no login", logins: []storedLogin{stored}, url: "http://other",
			want: connection{URL: "http://other"}},
		{name: "--url --token", logins: []storedLogin{stored}, url: "https://cloud.example", token: "flag",
			want: connection{URL: "https://cloud.example", Token: "flag"}},
		{name: "$CLOUDLET_TOKEN beats the stored token", logins: []storedLogin{stored}, env: "env",
			want: connection{URL: stored.URL, Token: "env"}},
		{name: "--token beats $CLOUDLET_TOKEN", url: "http://other", token: "flag", env: "env",
			want: connection{URL: "http://other", Token: "flag"}},
		{name: "expired login", logins: []storedLogin{expired}, wantErr: "login again"},
		{name: "expired login of --url", logins: []storedLogin{expired}, url: "https://cloud.example", wantErr: "login again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := configHome(t)
			if tc.logins != nil {
				writeConfig(t, path, 0o600, tc.logins...)
			}
			t.Setenv("CLOUDLET_TOKEN", tc.env)
			g := &globals{url: tc.url, token: tc.token, socket: client.DefaultSocket}
			got, err := g.resolveConnection(tc.socketGiven, time.Now())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("connection (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSocketFlagBeatsStoredLogin(t *testing.T) {
	path := configHome(t)
	api := newFakeAPI(t)
	writeConfig(t, path, 0o600, storedLogin{URL: api.URL, Token: "stored", User: "alice", ExpiresAt: time.Now().Add(time.Hour)})
	sock := filepath.Join(t.TempDir(), "cloudlet.sock")
	_, _, err := runIn("", "--socket", sock, "project", "list")
	if err == nil || !strings.Contains(err.Error(), "unix socket "+sock) {
		t.Errorf("--socket with a stored login: err = %v", err)
	}
	if reqs := api.take(); len(reqs) != 0 {
		t.Errorf("--socket still sent %+v to the stored URL", reqs)
	}
}

func TestExpiredLoginSaysLoginAgain(t *testing.T) {
	path := configHome(t)
	writeConfig(t, path, 0o600, storedLogin{URL: "http://x", Token: "t", User: "alice", ExpiresAt: time.Now().Add(-time.Minute)})
	_, _, err := runIn("", "project", "list")
	if err == nil || !strings.Contains(err.Error(), "run cloudlet login --url http://x --user alice to login again") {
		t.Errorf("err = %v", err)
	}
}

func TestProjectFlagSendsHeader(t *testing.T) {
	configHome(t)
	api := newFakeAPI(t)
	api.answerWith(http.StatusOK, `[]`)
	if _, _, err := runIn("", "--url", api.URL, "--token", "t", "--project", "other", "keypair", "list"); err != nil {
		t.Fatal(err)
	}
	if r := api.only(); r.Project != "other" || r.Auth != "Bearer t" {
		t.Errorf("--project other sent %+v", r)
	}
	if _, _, err := runIn("", "--url", api.URL, "--token", "t", "keypair", "list"); err != nil {
		t.Fatal(err)
	}
	if r := api.only(); r.Project != "" {
		t.Errorf("without --project, sent %s: %q", client.ProjectHeader, r.Project)
	}
}

func TestLogoutRevokesAndForgets(t *testing.T) {
	path := configHome(t)
	api := newFakeAPI(t)
	other := storedLogin{URL: "http://other", Token: "o", TokenID: "t2", User: "bob", ExpiresAt: time.Now().Add(time.Hour)}
	writeConfig(t, path, 0o600,
		storedLogin{URL: api.URL, Token: "stored", TokenID: "tok-1", User: "alice", ExpiresAt: time.Now().Add(time.Hour)}, other)
	if _, _, err := runIn("", "logout"); err != nil {
		t.Fatal(err)
	}
	if r := api.only(); r.Method != "DELETE" || r.Path != "/api/v1/auth/tokens/tok-1" || r.Auth != "Bearer stored" {
		t.Errorf("logout sent %+v", r)
	}
	cfg, err := loadUserConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]storedLogin{other}, cfg.Logins, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("logins after logout (-want +got):\n%s", diff)
	}
	if _, _, err := runIn("", "--url", api.URL, "logout"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Errorf("second logout: %v", err)
	}
}

func TestLogoutOfExpiredLoginOnlyForgets(t *testing.T) {
	path := configHome(t)
	api := newFakeAPI(t)
	writeConfig(t, path, 0o600, storedLogin{URL: api.URL, Token: "t", TokenID: "x", ExpiresAt: time.Now().Add(-time.Hour)})
	if _, _, err := runIn("", "logout"); err != nil {
		t.Fatal(err)
	}
	if reqs := api.take(); len(reqs) != 0 {
		t.Errorf("logout of an expired token sent %+v", reqs)
	}
	if cfg, _ := loadUserConfig(path); len(cfg.Logins) != 0 {
		t.Errorf("logins after logout: %+v", cfg.Logins)
	}
}
