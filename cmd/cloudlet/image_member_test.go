package main

import (
	"strings"
	"testing"
)

const imageJSON = `{"id":"i-1","name":"golden","status":"active","visibility":"shared","members":[{"project_id":"p-2","status":"pending"}]}`

// Finding 13: the CLI shares by project name and lets the recipient answer (Glance's member-update).
func TestProbe13ImageMemberCommands(t *testing.T) {
	configHome(t)
	api := newFakeAPI(t)
	member := `{"image_id":"i-1","project_id":"p-2","status":"accepted"}`
	for _, tc := range []struct {
		args         []string
		code         int
		answer       string
		method, path string
		query        string
		body         string
		out          string
	}{
		{args: []string{"image", "member", "add", "golden", "demo"}, code: 200, answer: imageJSON,
			method: "POST", path: "/api/v1/images/golden/members", body: `{"project":"demo"}`, out: "shared"},
		{args: []string{"image", "member", "remove", "golden", "demo"}, code: 200, answer: imageJSON,
			method: "DELETE", path: "/api/v1/images/golden/members/demo"},
		{args: []string{"image", "member", "list", "golden"}, code: 200, answer: "[" + member + "]",
			method: "GET", path: "/api/v1/images/golden/members", out: "accepted"},
		{args: []string{"image", "member", "accept", "i-1", "demo"}, code: 200, answer: member,
			method: "PUT", path: "/api/v1/images/i-1/members/demo", body: `{"status":"accepted"}`, out: "accepted"},
		{args: []string{"image", "member", "reject", "i-1", "demo"}, code: 200, answer: member,
			method: "PUT", path: "/api/v1/images/i-1/members/demo", body: `{"status":"rejected"}`},
		{args: []string{"image", "set", "golden", "--protected=false", "--visibility", "private"}, code: 200, answer: imageJSON,
			method: "PATCH", path: "/api/v1/images/golden", body: `{"visibility":"private","protected":false}`, out: "golden"},
		{args: []string{"image", "list", "--member-status", "pending"}, code: 200, answer: "[" + imageJSON + "]",
			method: "GET", path: "/api/v1/images", query: "member_status=pending", out: "golden"},
	} {
		api.answerWith(tc.code, tc.answer)
		out, errOut, err := runIn("", append([]string{"--url", api.URL, "--token", "t"}, tc.args...)...)
		if err != nil {
			t.Errorf("%v: %v\n%s", tc.args, err, errOut)
			api.take()
			continue
		}
		r := api.only()
		if r.Method != tc.method || r.Path != tc.path || r.Query != tc.query {
			t.Errorf("%v: sent %s %s?%s, want %s %s?%s", tc.args, r.Method, r.Path, r.Query, tc.method, tc.path, tc.query)
		}
		wantJSON(t, strings.Join(tc.args, " "), r.Body, tc.body)
		if !strings.Contains(out, tc.out) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.out, out)
		}
	}
}
