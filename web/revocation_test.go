package web

import (
	"encoding/json"
	"strings"
	"testing"

	"cloudlet/appliance/identity"
)

// Finding 12 over HTTP: a role removed made the member's token 401, and giving the role back
// brought it back; a disabled user's API key worked again once re-enabled. Now both stay 401, and
// a new login works.
func TestProbe12RevokedCredentialsStayRevokedOverHTTP(t *testing.T) {
	f := newAuthFixture(t)
	a, tok := f.tokens["admin"], f.tokens["member"]
	rec := f.do("POST", "/api/v1/credentials", tok, `{"name":"ci"}`)
	var key identity.Credential
	if err := json.Unmarshal(rec.Body.Bytes(), &key); rec.Code != 201 || err != nil {
		t.Fatalf("create credential = %d %s", rec.Code, rec.Body)
	}
	steps := []struct{ method, path, body string }{
		{"DELETE", "/api/v1/projects/pa/users/member/roles/member", ""},
		{"PUT", "/api/v1/projects/pa/users/member/roles/member", ""},
		{"PATCH", "/api/v1/users/member", `{"enabled":false}`},
		{"PATCH", "/api/v1/users/member", `{"enabled":true}`},
	}
	for _, s := range steps {
		if rec := f.do(s.method, s.path, a, s.body); rec.Code/100 != 2 {
			t.Fatalf("%s %s = %d %s", s.method, s.path, rec.Code, rec.Body)
		}
		for what, bearer := range map[string]string{"token": tok, "API key": key.Secret} {
			if rec := f.do("GET", "/api/v1/instances", bearer, ""); rec.Code != 401 {
				t.Errorf("member's %s after %s %s = %d, want 401", what, s.method, s.path, rec.Code)
			}
		}
	}
	fresh := f.login("member", testUserPassword, "pa")
	if rec := f.do("GET", "/api/v1/instances", fresh, ""); rec.Code != 200 {
		t.Errorf("a new login = %d %s, want 200", rec.Code, rec.Body)
	}
}

// Finding 15 over HTTP: each weak password is a 400 saying why.
func TestProbe15WeakPasswordsAre400SayingWhy(t *testing.T) {
	f := newAuthFixture(t)
	for password, why := range map[string]string{
		"password": "most used", "aaaaaaaaaa": "repeats", "12345678": "most used", "87654321x": "",
		"ursula2024": "user name", "cloudlet!!": "cloudlet",
	} {
		rec := f.do("POST", "/api/v1/users", f.tokens["admin"], `{"name":"ursula","password":"`+password+`"}`)
		if why == "" { // long enough, on no list, no pattern: accepted
			if rec.Code != 201 {
				t.Errorf("password %q = %d %s, want 201", password, rec.Code, rec.Body)
			}
			f.do("DELETE", "/api/v1/users/ursula", f.tokens["admin"], "")
			continue
		}
		if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, why) {
			t.Errorf("password %q = %d %s, want 400 saying %q", password, rec.Code, body, why)
		}
	}
}
