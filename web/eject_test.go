package web

import (
	"net/http"
	"strings"
	"testing"
)

// POST /api/v1/instances/{id}/eject is its own route (instance:eject), not an action verb: it reaches
// compute's Eject, which does not find an unknown instance (404), rather than "unknown instance action".
func TestEjectIsARouteOfItsOwn(t *testing.T) {
	s := newTestServer(t)
	rec := do(t, s, http.MethodPost, "/api/v1/instances/nope/eject", loopbackAddr, nil)
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "unknown instance action") {
		t.Errorf("eject of an unknown instance: %d %s; want 404 from the instance lookup", rec.Code, rec.Body)
	}
	var found bool
	for _, r := range s.Routes() {
		found = found || (r.Method == http.MethodPost && r.Path == "/api/v1/instances/:id/eject" && r.Action == "instance:eject")
	}
	if !found {
		t.Error("no POST /api/v1/instances/:id/eject route doing instance:eject")
	}
}
