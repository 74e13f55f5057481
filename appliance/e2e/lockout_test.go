package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loginStatus posts a password login for admin and returns the status and Retry-After.
func loginStatus(t *testing.T, c *http.Client, base, password string) (int, string) {
	t.Helper()
	body := `{"username":"admin","password":"` + password + `","project":"admin"}`
	resp, err := c.Post(base+"/api/v1/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// Finding 8 against the real daemon: 15 wrong logins for admin from 127.0.0.1 lock admin out
// there only (each 429 says Retry-After); admin logs in from 127.0.0.2 at once; an admin clears the
// lockout with `cloudlet user unlock admin`.
func TestProbe08LockoutFromOneAddressSparesAnother(t *testing.T) {
	d := NewDaemon(t, cloudletBin)
	d.Start(t)
	d.WaitReady(t)
	saved, err := os.ReadFile(filepath.Join(d.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(saved))
	base := "http://" + d.Listen
	attacker, admin := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")

	throttled := 0
	for range 15 {
		code, retry := loginStatus(t, attacker, base, "wrong guess")
		switch {
		case code == 429:
			if n, err := strconv.Atoi(retry); err != nil || n < 1 {
				t.Errorf("429 with Retry-After %q, want whole seconds", retry)
			}
			throttled++
		case code != 401:
			t.Fatalf("wrong guess = %d", code)
		}
	}
	if throttled == 0 {
		t.Fatal("15 wrong logins from 127.0.0.1 were never throttled")
	}
	// The lockout doubles with each failure made after the previous one ended (refused attempts do
	// not count): wait out each as the server says and fail again until it lasts long enough for the
	// checks below even on a loaded machine (a 1 s lockout once ran out before them).
	for lockout := 0; lockout < 16; {
		code, retry := loginStatus(t, attacker, base, "wrong guess")
		n, _ := strconv.Atoi(retry)
		switch {
		case code == 429 && n >= 1:
			lockout = n
			if n < 16 {
				time.Sleep(time.Duration(n) * time.Second) // as Retry-After asks
			}
		case code != 401:
			t.Fatalf("wrong guess = %d (Retry-After %q)", code, retry)
		}
	}
	if code, _ := loginStatus(t, admin, base, password); code != 201 {
		t.Errorf("admin from 127.0.0.2 = %d, want 201 at once", code)
	}
	if code, _ := loginStatus(t, attacker, base, password); code != 429 {
		t.Errorf("right password from the locked-out 127.0.0.1 = %d, want 429", code)
	}
	if out, errOut, code := cli(t, "--socket", d.Socket, "user", "unlock", "admin"); code != 0 {
		t.Fatalf("cloudlet user unlock admin = %d\n%s%s", code, out, errOut)
	}
	if code, _ := loginStatus(t, attacker, base, password); code != 201 {
		t.Errorf("right password from 127.0.0.1 after the unlock = %d, want 201", code)
	}
}
