package web

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/identity"
)

// newToken decodes a 201 answer of POST /api/v1/auth/tokens.
func newToken(t *testing.T, what string, rec *httptest.ResponseRecorder) tokenResponse {
	t.Helper()
	var tok tokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); rec.Code != 201 || err != nil || tok.Token == "" {
		t.Fatalf("%s = %d %s (%v)", what, rec.Code, rec.Body, err)
	}
	return tok
}

func TestSessionLoginOverTheAPIExpiresWhenIdle(t *testing.T) {
	f := newAuthFixture(t)
	start := f.clock.Now()
	session := newToken(t, "session login", f.do("POST", "/api/v1/auth/tokens", "",
		`{"username":"member","password":"`+testUserPassword+`","project":"pa","session":true}`))
	plain := newToken(t, "login", f.do("POST", "/api/v1/auth/tokens", "",
		`{"username":"member","password":"`+testUserPassword+`","project":"pa"}`))
	if !session.Session || plain.Session {
		t.Fatalf("session flags: session login %v, plain login %v", session.Session, plain.Session)
	}
	f.clock.Set(start.Add(identity.DefaultSessionIdle + time.Second))
	if rec := f.do("GET", "/api/v1/instances", session.Token, ""); rec.Code != 401 || !strings.Contains(rec.Body.String(), "without use") {
		t.Errorf("an idle session's token = %d %s, want 401 saying it idled out", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/instances", plain.Token, ""); rec.Code != 200 {
		t.Errorf("an ordinary token unused as long = %d %s, want 200", rec.Code, rec.Body)
	}
}

func TestRescopeByTokenOverTheAPI(t *testing.T) {
	f := newAuthFixture(t)
	if rec := f.do("PUT", "/api/v1/projects/pb/users/member/roles/reader", f.tokens["admin"], ""); rec.Code/100 != 2 {
		t.Fatalf("assign = %d %s", rec.Code, rec.Body)
	}
	rec := f.do("GET", "/api/v1/auth/projects", f.tokens["member"], "")
	var projects []identity.Project
	if err := json.Unmarshal(rec.Body.Bytes(), &projects); rec.Code != 200 || err != nil || len(projects) != 2 ||
		projects[0].Name != "pa" || projects[1].Name != "pb" {
		t.Fatalf("GET /api/v1/auth/projects as member = %d %s, want pa and pb", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/auth/projects", f.tokens["reader"], ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"pa"`) {
		t.Errorf("GET /api/v1/auth/projects as reader = %d %s, want pa", rec.Code, rec.Body)
	}

	since := f.auditPage("").Next
	pb := newToken(t, "rescope to pb", f.do("POST", "/api/v1/auth/tokens", f.tokens["member"], `{"project":"pb"}`))
	if pb.ProjectID != f.projectID("pb") {
		t.Errorf("rescoped token's project = %s, want pb", pb.ProjectID)
	}
	if rec := f.do("GET", "/api/v1/projects/pb", pb.Token, ""); rec.Code != 200 {
		t.Errorf("the rescoped token reads pb = %d %s", rec.Code, rec.Body)
	}
	if rec := f.do("GET", "/api/v1/projects/pa", f.tokens["member"], ""); rec.Code != 200 {
		t.Errorf("the first token no longer reads pa: %d %s", rec.Code, rec.Body)
	}
	entry := f.entries(since, 1)[0]
	if entry.Action != "token:create" || entry.UserName != "member" || entry.Via != identity.ViaToken ||
		entry.Status != 201 || entry.ResourceID != pb.ID {
		t.Errorf("rescope audit entry = %+v, want token:create by member via token making %s", entry, pb.ID)
	}

	login := f.do("POST", "/api/v1/auth/tokens", "", `{"username":"member","password":"wrong","project":"pa"}`)
	refused := f.do("POST", "/api/v1/auth/tokens", f.tokens["member"], `{"project":"admin"}`)
	if refused.Code != 401 || refused.Body.String() != login.Body.String() {
		t.Errorf("rescope to a project without a role = %d %s, want a login's refusal %s", refused.Code, refused.Body, login.Body)
	}
	if rec := f.do("POST", "/api/v1/auth/tokens", "clt_nonsense", `{"project":"pa"}`); rec.Code != 401 {
		t.Errorf("rescope with a bad token = %d %s, want 401", rec.Code, rec.Body)
	}
	key := f.do("POST", "/api/v1/credentials", f.tokens["member"], `{"name":"ci"}`)
	var cred identity.Credential
	if err := json.Unmarshal(key.Body.Bytes(), &cred); key.Code != 201 || err != nil {
		t.Fatalf("create credential = %d %s", key.Code, key.Body)
	}
	if rec := f.do("POST", "/api/v1/auth/tokens", cred.Secret, `{"project":"pb"}`); rec.Code != 403 {
		t.Errorf("rescope with an application credential = %d %s, want 403", rec.Code, rec.Body)
	}
}
