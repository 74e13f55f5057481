package web

import (
	"net/http"
	"strings"
	"testing"
)

// streamingRoutes take a raw body (an image file), not JSON; they have their own tests.
var streamingRoutes = map[string]bool{"PUT /api/v1/images/:id/file": true}

// bodylessRoutes read no body at all.
var bodylessRoutes = map[string]bool{
	"POST /api/v1/users/:id/reset-password":                 true,
	"POST /api/v1/instances/:id/eject":                      true,
	"PUT /api/v1/projects/:project/users/:user/roles/:role": true,
}

// TestEveryBodyRouteRejectsBadJSON walks every registered POST/PUT route: a malformed body, a body of the
// wrong JSON type and a body over the cap each get a clear 4xx, never a 5xx or a half-done action.
func TestEveryBodyRouteRejectsBadJSON(t *testing.T) {
	s := newTestServer(t)
	var checked int
	for _, r := range s.Routes() {
		if (r.Method != http.MethodPost && r.Method != http.MethodPut) || streamingRoutes[r.Method+" "+r.Path] ||
			bodylessRoutes[r.Method+" "+r.Path] {
			continue
		}
		path := strings.NewReplacer(":id", "x", ":action", "stop", ":project", "p2", ":user", "u", ":role", "member").Replace(r.Path)
		for _, tc := range []struct {
			name, body string
			want       []int
		}{
			{"malformed", `{"name":`, []int{400}},
			{"wrong type", `[1,2,3]`, []int{400}},
			{"over the cap", `{"name":"` + strings.Repeat("a", 4096) + `"}`, []int{413}},
		} {
			rec := do(t, s, r.Method, path, loopbackAddr, strings.NewReader(tc.body))
			ok := false
			for _, w := range tc.want {
				ok = ok || rec.Code == w
			}
			if !ok {
				t.Errorf("%s %s with a %s body: %d %s, want %v", r.Method, path, tc.name, rec.Code, rec.Body, tc.want)
			}
		}
		checked++
	}
	if checked < 4 {
		t.Fatalf("only %d body routes checked", checked)
	}
}
