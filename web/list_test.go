package web

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// TestInstanceListAnswersWhatEncodingTheInstancesGives pins the list's JSON to what the handler gave
// when it decoded every instance and encoded the slice (echo's c.JSON): field names and order, sort
// order, escaping, the trailing newline, and ?pretty's indentation.
func TestInstanceListAnswersWhatEncodingTheInstancesGives(t *testing.T) {
	s := listServer(t, 5, func(i int, inst *compute.Instance) {
		switch i {
		case 1:
			inst.Fault = `qemu said "<no> & <way>"` // escaped as \u003c, \u0026 by encoding/json
			inst.Flavor.ExtraSpecs = map[string]string{"z": "1", "a": "2"}
		case 2:
			inst.Crashes = []time.Time{time.Date(2026, 2, 3, 4, 5, 6, 7, time.FixedZone("x", 3600))}
			inst.LaunchedAt, inst.Timeline, inst.Addresses = nil, nil, nil
		}
	})
	list, err := s.opts.Compute.List(context.Background(), "p1")
	if err != nil || len(list) != 5 {
		t.Fatalf("List = %d instances, %v", len(list), err)
	}
	for _, indent := range []string{"", "  "} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", indent)
		if err := enc.Encode(list); err != nil {
			t.Fatal(err)
		}
		path := "/api/v1/instances"
		if indent != "" {
			path += "?pretty"
		}
		rec := do(t, s, "GET", path, loopbackAddr, nil)
		if rec.Code != 200 || rec.Body.String() != want.String() {
			t.Errorf("GET %s = %d\n%s\nwant\n%s", path, rec.Code, rec.Body, want.String())
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q, want application/json", path, ct)
		}
	}
}

func TestInstanceListOfAProjectWithoutInstancesIsAnEmptyArray(t *testing.T) {
	rec := do(t, listServer(t, 0, nil), "GET", "/api/v1/instances", loopbackAddr, nil)
	if rec.Code != 200 || rec.Body.String() != "[]\n" {
		t.Errorf("GET /api/v1/instances with none = %d %q, want 200 %q", rec.Code, rec.Body, "[]\n")
	}
}
