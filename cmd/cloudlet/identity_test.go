package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	projectJSON    = `{"id":"p-1","name":"demo","description":"d","enabled":true}`
	userJSON       = `{"id":"u-1","name":"alice","email":"a@example.com","enabled":true,"default_project_id":"p-1"}`
	credentialJSON = `{"id":"c-1","name":"ci","project_id":"p-1","roles":["member"],"created_at":"2030-01-01T00:00:00Z"}`
	keypairJSON    = `{"id":"k-1","name":"laptop","type":"ssh-ed25519","fingerprint":"SHA256:abc","public_key":"ssh-ed25519 AAAA x"}`
)

// TestIdentityCommandRequests checks what each command sends, and that it prints the answer.
func TestIdentityCommandRequests(t *testing.T) {
	configHome(t)
	api := newFakeAPI(t)
	pubKey := filepath.Join(t.TempDir(), "id.pub")
	if err := os.WriteFile(pubKey, []byte("ssh-ed25519 AAAA me@host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args         []string
		stdin        string
		code         int
		answer       string
		method, path string
		query        string
		body         string
		out          string // in stdout
	}{
		{args: []string{"project", "create", "demo", "--description", "d"}, code: 201, answer: projectJSON,
			method: "POST", path: "/api/v1/projects", body: `{"name":"demo","description":"d"}`, out: "p-1"},
		{args: []string{"project", "list"}, code: 200, answer: "[" + projectJSON + "]",
			method: "GET", path: "/api/v1/projects", out: "demo"},
		{args: []string{"project", "show", "demo"}, code: 200, answer: projectJSON,
			method: "GET", path: "/api/v1/projects/demo", out: "demo"},
		{args: []string{"project", "set", "demo", "--disable"}, code: 200, answer: projectJSON,
			method: "PATCH", path: "/api/v1/projects/demo", body: `{"enabled":false}`},
		{args: []string{"project", "set", "demo", "--description", "", "--enable"}, code: 200, answer: projectJSON,
			method: "PATCH", path: "/api/v1/projects/demo", body: `{"description":"","enabled":true}`},
		{args: []string{"project", "delete", "demo"}, code: 204,
			method: "DELETE", path: "/api/v1/projects/demo"},

		{args: []string{"user", "create", "alice", "--email", "a@example.com", "--project", "demo", "--password-stdin"},
			stdin: "pw one\n", code: 201, answer: userJSON, method: "POST", path: "/api/v1/users",
			body: `{"name":"alice","email":"a@example.com","password":"pw one","enabled":true,"default_project":"demo"}`, out: "u-1"},
		{args: []string{"user", "create", "bot", "--enabled=false", "--password", "pw two"}, code: 201, answer: userJSON,
			method: "POST", path: "/api/v1/users",
			body: `{"name":"bot","email":"","password":"pw two","enabled":false,"default_project":""}`},
		{args: []string{"user", "list"}, code: 200, answer: "[" + userJSON + "]",
			method: "GET", path: "/api/v1/users", out: "a@example.com"},
		{args: []string{"user", "show", "alice"}, code: 200, answer: userJSON, method: "GET", path: "/api/v1/users/alice"},
		{args: []string{"user", "set", "alice", "--disable", "--email", "b@example.com"}, code: 200, answer: userJSON,
			method: "PATCH", path: "/api/v1/users/alice", body: `{"email":"b@example.com","enabled":false}`},
		{args: []string{"user", "set", "alice", "--password-stdin", "--project", "p2"}, stdin: "new pw\n", code: 200,
			answer: userJSON, method: "PATCH", path: "/api/v1/users/alice", body: `{"password":"new pw","default_project":"p2"}`},
		{args: []string{"user", "delete", "alice"}, code: 204, method: "DELETE", path: "/api/v1/users/alice"},
		{args: []string{"user", "reset-password", "alice"}, code: 200, answer: `{"password":"Xy7-new"}`,
			method: "POST", path: "/api/v1/users/alice/reset-password", out: "Xy7-new\n"},
		{args: []string{"user", "unlock", "alice"}, code: 204, method: "DELETE", path: "/api/v1/users/alice/lockout",
			out: "login lockouts of alice cleared\n"},

		{args: []string{"role", "add", "member", "--user", "alice", "--project", "demo"}, code: 204,
			method: "PUT", path: "/api/v1/projects/demo/users/alice/roles/member"},
		{args: []string{"role", "remove", "reader", "--user", "alice", "--project", "demo"}, code: 204,
			method: "DELETE", path: "/api/v1/projects/demo/users/alice/roles/reader"},
		{args: []string{"role", "list", "--user", "alice", "--project", "demo"}, code: 200,
			answer: `[{"user_id":"u-1","project_id":"p-1","role":"member"}]`,
			method: "GET", path: "/api/v1/role-assignments", query: "project=demo&user=alice", out: "member"},
		{args: []string{"role", "list"}, code: 200, answer: `[]`, method: "GET", path: "/api/v1/role-assignments"},

		{args: []string{"token", "list"}, code: 200,
			answer: `[{"id":"tok-1","user_id":"u-1","project_id":"p-1","created_at":"2030-01-01T00:00:00Z","expires_at":"2030-01-02T00:00:00Z","source":"192.0.2.1"}]`,
			method: "GET", path: "/api/v1/auth/tokens", out: "192.0.2.1"},
		{args: []string{"token", "revoke", "tok-1"}, code: 204, method: "DELETE", path: "/api/v1/auth/tokens/tok-1"},

		{args: []string{"credential", "create", "ci", "--project", "demo", "--role", "member", "--allow", "instance:list",
			"--allow", "instance:show", "--expires", "2030-01-02T03:04:05Z", "--description", "for CI"}, code: 201,
			answer: credentialJSON, method: "POST", path: "/api/v1/credentials",
			body: `{"name":"ci","description":"for CI","project":"demo","roles":["member"],
				"allowed_actions":["instance:list","instance:show"],"expires_at":"2030-01-02T03:04:05Z"}`},
		{args: []string{"credential", "create", "ci", "--project", "demo"}, code: 201, answer: credentialJSON,
			method: "POST", path: "/api/v1/credentials",
			body: `{"name":"ci","description":"","project":"demo","roles":null,"allowed_actions":null}`},
		{args: []string{"credential", "list"}, code: 200, answer: "[" + credentialJSON + "]",
			method: "GET", path: "/api/v1/credentials", out: "ci"},
		{args: []string{"credential", "show", "c-1"}, code: 200, answer: credentialJSON, method: "GET", path: "/api/v1/credentials/c-1"},
		{args: []string{"credential", "delete", "c-1"}, code: 204, method: "DELETE", path: "/api/v1/credentials/c-1"},

		{args: []string{"keypair", "import", "laptop", pubKey}, code: 201, answer: keypairJSON,
			method: "POST", path: "/api/v1/keypairs", body: `{"name":"laptop","public_key":"ssh-ed25519 AAAA me@host\n"}`,
			out: "SHA256:abc"},
		{args: []string{"keypair", "create", "laptop", "--public-key", pubKey}, code: 201, answer: keypairJSON,
			method: "POST", path: "/api/v1/keypairs", body: `{"name":"laptop","public_key":"ssh-ed25519 AAAA me@host\n"}`},
		{args: []string{"keypair", "list"}, code: 200, answer: "[" + keypairJSON + "]", method: "GET", path: "/api/v1/keypairs"},
		{args: []string{"keypair", "show", "laptop"}, code: 200, answer: keypairJSON, method: "GET", path: "/api/v1/keypairs/laptop"},
		{args: []string{"keypair", "delete", "laptop"}, code: 204, method: "DELETE", path: "/api/v1/keypairs/laptop"},
	} {
		api.answerWith(tc.code, tc.answer)
		args := append([]string{"--url", api.URL, "--token", "t"}, tc.args...)
		out, errOut, err := runIn(tc.stdin, args...)
		if err != nil {
			t.Errorf("%v: %v\n%s", tc.args, err, errOut)
			api.take()
			continue
		}
		r := api.only()
		if r.Method != tc.method || r.Path != tc.path || r.Query != tc.query {
			t.Errorf("%v: sent %s %s?%s, want %s %s?%s", tc.args, r.Method, r.Path, r.Query, tc.method, tc.path, tc.query)
		}
		if r.Project != "" {
			t.Errorf("%v: sent X-Cloudlet-Project %q: a command's own --project must not", tc.args, r.Project)
		}
		wantJSON(t, strings.Join(tc.args, " "), r.Body, tc.body)
		if !strings.Contains(out, tc.out) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.out, out)
		}
		if tc.stdin != "" && strings.Contains(out+errOut, strings.TrimSpace(tc.stdin)) {
			t.Errorf("%v: echoed the password", tc.args)
		}
	}
}

func TestCommandsRefuseBadFlags(t *testing.T) {
	configHome(t)
	api := newFakeAPI(t)
	for _, args := range [][]string{
		{"project", "set", "demo"},
		{"project", "set", "demo", "--enable", "--disable"},
		{"user", "set", "alice"},
		{"user", "create", "alice", "--password", "x", "--password-stdin"},
		{"role", "add", "member", "--user", "alice"},
		{"credential", "create", "ci"},
		{"credential", "create", "ci", "--project", "demo", "--expires", "tomorrow"},
	} {
		if _, _, err := runIn("", append([]string{"--url", api.URL, "--token", "t"}, args...)...); err == nil {
			t.Errorf("%v succeeded", args)
		}
		if reqs := api.take(); len(reqs) != 0 {
			t.Errorf("%v sent %+v", args, reqs)
		}
	}
}

func TestCredentialSecretPrintedOnce(t *testing.T) {
	configHome(t)
	api := newFakeAPI(t)
	answer := strings.Replace(credentialJSON, `"id"`, `"secret":"clk_very_secret","id"`, 1)
	for _, output := range []string{"table", "json"} {
		api.answerWith(201, answer)
		out, errOut, err := runIn("", "--url", api.URL, "--token", "t", "-o", output, "credential", "create", "ci", "--project", "demo")
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out, "clk_very_secret"); n != 1 {
			t.Errorf("-o %s: secret printed %d times:\n%s", output, n, out)
		}
		if strings.Contains(errOut, "clk_very_secret") || !strings.Contains(errOut, "cannot be shown again") {
			t.Errorf("-o %s: stderr %q", output, errOut)
		}
	}
}

func TestKeypairGeneratedPrivateKey(t *testing.T) {
	configHome(t)
	api := newFakeAPI(t)
	const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA\n-----END OPENSSH PRIVATE KEY-----\n"
	answer := strings.Replace(keypairJSON, `"id"`, `"private_key":"`+strings.ReplaceAll(key, "\n", `\n`)+`","id"`, 1)
	base := []string{"--url", api.URL, "--token", "t"}

	api.answerWith(201, answer)
	out, errOut, err := runIn("", append(base, "keypair", "create", "laptop")...)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, "keypair create", api.only().Body, `{"name":"laptop"}`)
	if strings.Count(out, key) != 1 || !strings.Contains(errOut, "shown once") {
		t.Errorf("keypair create without --private-key-out: stdout %q stderr %q", out, errOut)
	}

	for _, output := range []string{"table", "json"} {
		keyFile := filepath.Join(t.TempDir(), "id_laptop")
		out, _, err = runIn("", append(base, "-o", output, "keypair", "create", "laptop", "--private-key-out", keyFile)...)
		if err != nil {
			t.Fatal(err)
		}
		api.take()
		if strings.Contains(out, "PRIVATE KEY") || !strings.Contains(out, "SHA256:abc") {
			t.Errorf("-o %s --private-key-out: stdout %q", output, out)
		}
		fi, err := os.Stat(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(keyFile); string(b) != key || fi.Mode().Perm() != 0o600 {
			t.Errorf("-o %s: key file mode %v holds %q", output, fi.Mode(), b)
		}
		// An existing file is never overwritten, and no key is made for nothing.
		if _, _, err := runIn("", append(base, "keypair", "create", "laptop2", "--private-key-out", keyFile)...); err == nil {
			t.Errorf("--private-key-out onto an existing file succeeded")
		}
		if reqs := api.take(); len(reqs) != 0 {
			t.Errorf("--private-key-out onto an existing file sent %+v", reqs)
		}
	}

	// A failed create leaves no empty key file behind.
	keyFile := filepath.Join(t.TempDir(), "id_x")
	api.answerWith(409, `{"error":{"message":"keypair laptop exists"}}`)
	if _, _, err := runIn("", append(base, "keypair", "create", "laptop", "--private-key-out", keyFile)...); err == nil {
		t.Errorf("create answered 409 succeeded")
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Errorf("a failed create left %s: %v", keyFile, err)
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"30d":                  now.Add(30 * 24 * time.Hour),
		"90m":                  now.Add(90 * time.Minute),
		"2031-02-03T04:05:06Z": time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC),
	} {
		if got, err := parseExpiry(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1h", "0d", "soon"} {
		if _, err := parseExpiry(in, now); err == nil {
			t.Errorf("parseExpiry(%q) succeeded", in)
		}
	}
}
