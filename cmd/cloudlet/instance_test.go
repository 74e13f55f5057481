package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// instance create sends what the flags say about NICs: omitted networks (the server picks network
// default), an explicit [] for --no-network, and --port in order.
func TestInstanceCreateNICFlags(t *testing.T) {
	var bodies []map[string]json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]json.RawMessage
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &body); err != nil {
			t.Errorf("request body %s: %v", data, err)
		}
		bodies = append(bodies, body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"id":"i1","name":"vm","vm_state":"building"}`)
	}))
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		args            []string
		networks, ports string
	}{
		{[]string{"--image", "tg"}, "null", "null"},
		{[]string{"--image", "tg", "--no-network"}, "[]", "null"},
		{[]string{"--image", "tg", "--port", "b", "--port", "a", "--network", "lan"}, `["lan"]`, `["b","a"]`},
	} {
		bodies = nil
		mustCLI(t, srv.URL, append([]string{"instance", "create", "vm"}, c.args...)...)
		if len(bodies) != 1 {
			t.Fatalf("%v: %d requests, want 1", c.args, len(bodies))
		}
		got := []string{string(bodies[0]["networks"]), string(bodies[0]["ports"])}
		if diff := cmp.Diff([]string{c.networks, c.ports}, got); diff != "" {
			t.Errorf("%v: networks, ports sent (-want +got):\n%s", c.args, diff)
		}
	}
	if _, _, err := cli(t, srv.URL, "instance", "create", "vm", "--network", "lan", "--no-network"); err == nil {
		t.Error("--network with --no-network was accepted")
	}
}
