package web

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/identity"
)

// auditPage reads GET /api/v1/audit as admin.
func (f *authFixture) auditPage(query string) identity.AuditPage {
	f.t.Helper()
	rec := f.do("GET", "/api/v1/audit"+query, f.tokens["admin"], "")
	if rec.Code != 200 {
		f.t.Fatalf("GET /api/v1/audit%s = %d %s", query, rec.Code, rec.Body)
	}
	var page identity.AuditPage
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		f.t.Fatal(err)
	}
	return page
}

// entries returns the audit entries after since, failing unless there are want of them.
func (f *authFixture) entries(since uint64, want int) []*identity.AuditEntry {
	f.t.Helper()
	page := f.auditPage("?since=" + strconv.FormatUint(since, 10))
	if len(page.Entries) != want {
		raw, _ := json.Marshal(page.Entries)
		f.t.Fatalf("%d audit entries after %d, want %d: %s", len(page.Entries), since, want, raw)
	}
	return page.Entries
}

// wantEntry compares the fields of an entry a request decides, ignoring the catalog's bookkeeping.
func wantEntry(t *testing.T, want, got identity.AuditEntry) {
	t.Helper()
	got.Meta, got.Seq = want.Meta, 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit entry (-want +got):\n%s", diff)
	}
}

// TestAuditRecordsMutatingRequests: a create, a refused create and a delete are recorded with
// who, project, action, path, resource and status; reads are not; neither the body nor the query
// string reaches the entry.
func TestAuditRecordsMutatingRequests(t *testing.T) {
	f := newAuthFixture(t)
	pa, err := f.ids.Project(t.Context(), "pa")
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.ids.User(t.Context(), "member")
	if err != nil {
		t.Fatal(err)
	}
	const bodyCanary, queryCanary = "bodycanary9d2", "querycanary4e1"
	rec := f.do("POST", "/api/v1/networks?note="+queryCanary, f.tokens["member"],
		`{"name":"`+bodyCanary+`","kind":"isolated","subnet":{"cidr":"10.9.0.0/24"}}`)
	if rec.Code != 201 {
		t.Fatalf("create network = %d %s", rec.Code, rec.Body)
	}
	var n struct{ ID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &n); err != nil || n.ID == "" {
		t.Fatalf("create network answer %s: %v", rec.Body, err)
	}
	got := f.entries(0, 1)[0]
	want := identity.AuditEntry{UserID: u.ID, UserName: "member", Via: "token", Action: "network:create",
		Method: "POST", Path: "/api/v1/networks", ResourceID: n.ID, Status: 201, Source: "192.0.2.10"}
	want.ProjectID = pa.ID
	wantEntry(t, want, *got)

	for _, path := range []string{"/api/v1/networks", "/api/v1/networks/" + n.ID, "/api/v1/events"} {
		if rec := f.do("GET", path, f.tokens["member"], ""); rec.Code != 200 {
			t.Fatalf("GET %s = %d", path, rec.Code)
		}
	}
	f.entries(got.Seq, 0) // reads are not recorded, not even the admin's reads of the audit log

	if rec := f.do("POST", "/api/v1/networks", f.tokens["reader"], `{"name":"nope"}`); rec.Code != 403 {
		t.Fatalf("reader creates a network = %d, want 403", rec.Code)
	}
	if rec := f.do("DELETE", "/api/v1/networks/"+n.ID, f.tokens["member"], ""); rec.Code != 204 {
		t.Fatalf("delete network = %d %s", rec.Code, rec.Body)
	}
	refused, deleted := f.entries(got.Seq, 2)[0], f.entries(got.Seq, 2)[1]
	if refused.UserName != "reader" || refused.Action != "network:create" || refused.Status != 403 || refused.ProjectID != pa.ID {
		t.Errorf("refused create = %+v, want reader's network:create in pa with 403", refused)
	}
	want = identity.AuditEntry{UserID: u.ID, UserName: "member", Via: "token", Action: "network:delete",
		Method: "DELETE", Path: "/api/v1/networks/" + n.ID, ResourceID: n.ID, Status: 204, Source: "192.0.2.10"}
	want.ProjectID = pa.ID
	wantEntry(t, want, *deleted)

	raw, _ := json.Marshal(f.auditPage("").Entries)
	for _, canary := range []string{bodyCanary, queryCanary} {
		if strings.Contains(string(raw), canary) {
			t.Errorf("the audit log holds %q, from the request's body or query: %s", canary, raw)
		}
	}
	events, err := f.db.EventsSince(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, e := range events {
		if e.Type == identity.EventAuditRecorded {
			audited++
		}
	}
	if audited != 3 {
		t.Errorf("%d %s events, want one per entry (3)", audited, identity.EventAuditRecorded)
	}
}

// TestAuditNeverHoldsSecrets: a failed login is recorded (aggregated) with 401 and the user name it
// gave, a good one with the token's id; neither the passwords nor the token's secret are anywhere in the
// catalog file.
func TestAuditNeverHoldsSecrets(t *testing.T) {
	f := newAuthFixture(t)
	const wrongPassword = "canary-wrong-password-81b7e2"
	login := func(password string) *httptest.ResponseRecorder {
		return f.do("POST", "/api/v1/auth/tokens", "", `{"username":"member","password":"`+password+`","project":"pa"}`)
	}
	if rec := login(wrongPassword); rec.Code != 401 {
		t.Fatalf("login with a wrong password = %d, want 401", rec.Code)
	}
	rec := login(testUserPassword)
	if rec.Code != 201 {
		t.Fatalf("login = %d %s", rec.Code, rec.Body)
	}
	var tok struct {
		ID, Token string
		UserID    string `json:"user_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.Token == "" {
		t.Fatalf("login answer %s: %v", rec.Body, err)
	}
	const newUserPassword = "canary-new-user-password-3f0a"
	if rec := f.do("POST", "/api/v1/users", f.tokens["admin"], `{"name":"carol","password":"`+newUserPassword+`"}`); rec.Code != 201 {
		t.Fatalf("create user = %d %s", rec.Code, rec.Body)
	}

	f.srv.flood.flush() // a failed login is an unauthenticated failure: aggregated, written when its window closes
	entries := f.entries(0, 3)
	good, failed := entries[0], entries[2]
	if failed.Action != "token:create" || failed.Status != 401 || failed.UserName != "member" || failed.Via != "password" ||
		failed.UserID != "" || failed.ResourceID != "" || failed.Count != 1 {
		t.Errorf("failed login = %+v, want token:create by member (no id) with 401, count 1", failed)
	}
	if good.Status != 201 || good.UserName != "member" || good.UserID != tok.UserID || good.ResourceID != tok.ID {
		t.Errorf("login = %+v, want 201 by member %s making token %s", good, tok.UserID, tok.ID)
	}
	catalog, err := os.ReadFile(f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	for what, secret := range map[string]string{"wrong password": wrongPassword, "password": testUserPassword,
		"new user's password": newUserPassword, "token secret": tok.Token} {
		if strings.Contains(string(catalog), secret) {
			t.Errorf("the catalog file holds the %s", what)
		}
	}
}

// TestAuditListAccess: only admins read the audit log; filters and the next cursor work over HTTP.
func TestAuditListAccess(t *testing.T) {
	f := newAuthFixture(t)
	for i, name := range []string{"a", "b"} {
		body := fmt.Sprintf(`{"name":%q,"kind":"isolated","subnet":{"cidr":"10.9.%d.0/24"}}`, name, i)
		if rec := f.do("POST", "/api/v1/networks", f.tokens["member"], body); rec.Code != 201 {
			t.Fatalf("create network %s = %d %s", name, rec.Code, rec.Body)
		}
	}
	for _, who := range []string{"member", "reader", "memberb"} {
		if rec := f.do("GET", "/api/v1/audit", f.tokens[who], ""); rec.Code != 403 {
			t.Errorf("%s reads the audit log: %d, want 403", who, rec.Code)
		}
	}
	if rec := f.do("GET", "/api/v1/audit", "", ""); rec.Code != 401 {
		t.Errorf("anonymous reads the audit log: %d, want 401", rec.Code)
	}
	first := f.auditPage("?limit=1&action=network:create&user=member&project=pa")
	if len(first.Entries) != 1 || first.Next != first.Entries[0].Seq {
		t.Fatalf("first page = %+v, want one entry and next = its seq", first)
	}
	second := f.auditPage("?limit=1&action=network:create&since=" + strconv.FormatUint(first.Next, 10))
	if len(second.Entries) != 1 || second.Entries[0].Seq <= first.Next {
		t.Fatalf("second page = %+v, want the entry after %d", second, first.Next)
	}
	if page := f.auditPage("?project=pb"); len(page.Entries) != 0 {
		t.Errorf("project pb has %d entries, want none", len(page.Entries))
	}
	for _, q := range []string{"?limit=0", "?limit=5001", "?since=-1"} {
		if rec := f.do("GET", "/api/v1/audit"+q, f.tokens["admin"], ""); rec.Code != 400 {
			t.Errorf("GET /api/v1/audit%s = %d, want 400", q, rec.Code)
		}
	}
}
