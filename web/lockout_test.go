package web

import (
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

const (
	attackerAddr = "203.0.113.66:40000"
	adminAddr    = "198.51.100.7:40000"
)

// loginFrom posts a password login from addr.
func (f *authFixture) loginFrom(addr, user, password string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/auth/tokens",
		strings.NewReader(`{"username":"`+user+`","password":"`+password+`","project":"admin"}`))
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// Finding 8: an attacker looping from one address kept the admin out everywhere, and no 429 said
// when to come back. Now every 429 carries Retry-After, growing with each failure; the admin logs
// in from another address at once; an admin clears the lockout (admin-only, audited).
func TestProbe08LoginLockoutSaysRetryAfterAndSparesOtherAddresses(t *testing.T) {
	f := newAuthFixture(t)
	var waits []int
	for i := 0; len(waits) < 3 && i < 50; i++ {
		rec := f.loginFrom(attackerAddr, "admin", "wrong guess")
		switch rec.Code {
		case 401:
		case 429:
			secs, err := strconv.Atoi(rec.Header().Get("Retry-After"))
			if err != nil || secs < 1 {
				t.Fatalf("429 with Retry-After %q, want whole seconds", rec.Header().Get("Retry-After"))
			}
			waits = append(waits, secs)
			f.clock.Set(f.clock.Now().Add(time.Duration(secs) * time.Second))
		default:
			t.Fatalf("wrong guess = %d %s", rec.Code, rec.Body)
		}
	}
	if len(waits) < 3 || !(waits[0] < waits[1] && waits[1] < waits[2]) {
		t.Errorf("Retry-After values %v, want three, growing", waits)
	}
	f.loginFrom(attackerAddr, "admin", "wrong guess") // locked out again
	if rec := f.loginFrom(adminAddr, "admin", f.adminPassword); rec.Code != 201 {
		t.Errorf("admin from another address = %d %s, want 201 at once", rec.Code, rec.Body)
	}
	if rec := f.loginFrom(attackerAddr, "admin", f.adminPassword); rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("right password from the locked-out address = %d (Retry-After %q), want 429 with it",
			rec.Code, rec.Header().Get("Retry-After"))
	}

	if rec := f.do("DELETE", "/api/v1/users/admin/lockout", f.tokens["member"], ""); rec.Code != 403 {
		t.Errorf("member clears a lockout = %d %s, want 403", rec.Code, rec.Body)
	}
	if rec := f.do("DELETE", "/api/v1/users/admin/lockout", f.tokens["admin"], ""); rec.Code != 204 {
		t.Fatalf("admin clears the lockout = %d %s, want 204", rec.Code, rec.Body)
	}
	if rec := f.loginFrom(attackerAddr, "admin", f.adminPassword); rec.Code != 201 {
		t.Errorf("right password after the lockout was cleared = %d %s, want 201", rec.Code, rec.Body)
	}
	if rec := f.do("DELETE", "/api/v1/users/nobody/lockout", f.tokens["admin"], ""); rec.Code != 404 {
		t.Errorf("clear the lockout of an unknown user = %d %s, want 404", rec.Code, rec.Body)
	}
	audited := 0
	for _, e := range f.auditPage("").Entries {
		if e.Action == "user:unlock" && e.Path == "/api/v1/users/admin/lockout" {
			audited++
		}
	}
	if audited != 2 {
		t.Errorf("%d audit entries of user:unlock on admin, want 2 (the member's 403 and the admin's 204)", audited)
	}
}

// Every 429 says when to come back: the time its cause gives, rounded up, or 1 s.
func TestProbe08Every429HasRetryAfter(t *testing.T) {
	s := newTestServer(t)
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fault.New(fault.TooManyRequests, "slow down"), "1"},
		{fmt.Errorf("login: %w", &identity.RetryError{Msg: "locked", After: 1500 * time.Millisecond}), "2"},
		{&identity.RetryError{Msg: "locked", After: 15 * time.Minute}, "900"},
	} {
		rec := httptest.NewRecorder()
		s.handleError(tt.err, s.e.NewContext(httptest.NewRequest("POST", "/api/v1/auth/tokens", nil), rec))
		if rec.Code != 429 || rec.Header().Get("Retry-After") != tt.want {
			t.Errorf("%v: %d with Retry-After %q, want 429 with %q", tt.err, rec.Code, rec.Header().Get("Retry-After"), tt.want)
		}
	}
}
