package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// readyAPI answers POST /api/v1/instances with a building instance and GETs with an active one that
// turns ready on the readyAfter-th GET (never when readyAfter is 0); stopped instances stay stopped.
func readyAPI(t *testing.T, readyAfter int, state string) (string, *int) {
	var mu sync.Mutex
	gets := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "text/event-stream" {
			busyStream(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == "POST" {
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"id":"i1","name":"vm","vm_state":"building","task_state":"spawning"}`)
			return
		}
		gets++
		body := `{"id":"i1","name":"vm","vm_state":"` + state + `","power_state":"running","launched_at":"2026-01-01T00:00:00Z",` +
			`"timeline":[{"name":"api_accepted","at":"2026-01-01T00:00:00Z"},{"name":"cont","at":"2026-01-01T00:00:01Z"}`
		if readyAfter > 0 && gets >= readyAfter {
			body += `,{"name":"guest_ready","at":"2026-01-01T00:00:04Z"}],"ready_at":"2026-01-01T00:00:04Z","ready_via":"phone-home"}`
		} else {
			body += `]}`
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &gets
}

// busyStream is an event stream with an event about the instance every few milliseconds.
func busyStream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for seq := 1; ; seq++ {
		io.WriteString(w, sseEvent(seq, "instance.state"))
		w.(http.Flusher).Flush()
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
	}
}

// create --wait ready, create --wait=ready and instance wait NAME ready return once the API shows
// ready_at, and print it with the timeline; a bare --wait does not wait for the guest.
func TestWaitReadyReturnsWhenTheGuestIsReady(t *testing.T) {
	for _, args := range [][]string{
		{"instance", "create", "vm", "--image", "tg", "--wait", "ready"},
		{"instance", "create", "vm", "--image", "tg", "--wait=ready"},
		{"instance", "wait", "vm", "ready"},
	} {
		url, gets := readyAPI(t, 3, "active")
		out, _ := mustCLI(t, url, args...)
		for _, want := range []string{"ready_via", "phone-home", "(+4s after launch)", "timeline.guest_ready", "+4s"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v printed no %q:\n%s", args, want, out)
			}
		}
		if *gets < 3 {
			t.Errorf("%v returned after %d GETs, before the instance was ready", args, *gets)
		}
	}
	url, gets := readyAPI(t, 0, "active")
	mustCLI(t, url, "instance", "create", "vm", "--image", "tg", "--wait")
	if *gets != 1 {
		t.Errorf("a bare --wait made %d GETs, want 1 (the instance had settled)", *gets)
	}
}

// Waiting for an instance that is stopped fails at once, saying so, instead of waiting out the limit.
func TestWaitReadyOfAStoppedInstanceFails(t *testing.T) {
	url, _ := readyAPI(t, 0, "stopped")
	_, _, err := cli(t, url, "instance", "wait", "vm", "ready")
	if err == nil || !strings.Contains(err.Error(), "will not be ready") {
		t.Errorf("wait ready of a stopped instance: %v", err)
	}
	if _, _, err := cli(t, url, "instance", "create", "vm", "--image", "tg", "--wait", "soon"); err == nil {
		t.Error("create with an extra argument other than ready was accepted")
	}
}
