package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// sseAPI is a fake API's event stream: each connection gets the next script of messages (raw SSE
// text) and then, if the script does not end it, stays open until the client goes. It records
// each connection's query and Last-Event-ID.
type sseAPI struct {
	mu      sync.Mutex // guards the fields below
	scripts []string
	seen    []string // "query|last-event-id" of each connection
}

func (s *sseAPI) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen = append(s.seen, r.URL.RawQuery+"|"+r.Header.Get("Last-Event-ID"))
	script, hold := "", true
	if len(s.scripts) > 0 {
		script, s.scripts = s.scripts[0], s.scripts[1:]
	}
	if strings.HasSuffix(script, "<close>") {
		script, hold = strings.TrimSuffix(script, "<close>"), false
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, script)
	w.(http.Flusher).Flush()
	if hold {
		<-r.Context().Done()
	}
}

func sseEvent(seq int, typ string) string {
	return fmt.Sprintf("id: %d\nevent: %s\ndata: {\"seq\":%d,\"type\":%q,\"time\":\"2026-01-01T00:00:00Z\",\"kind\":\"instance\",\"id\":\"i1\"}\n\n", seq, typ, seq, typ)
}

// events --follow prints the stream's events (-o json: one object a line), resumes with
// Last-Event-ID after a stream.overflow, and fails with the reason at a stream.end.
func TestEventsFollow(t *testing.T) {
	s := &sseAPI{scripts: []string{
		": heartbeat\n\n" + sseEvent(3, "instance.created") + sseEvent(4, "instance.state") + "event: stream.overflow\ndata: {}\n\n<close>",
		sseEvent(5, "instance.state") + "event: stream.end\ndata: {\"reason\":\"token revoked\"}\n\n<close>",
	}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	out, _, err := cli(t, srv.URL, "events", "--follow", "--type", "instance.", "--since", "2", "-o", "json")
	if err == nil || !strings.Contains(err.Error(), "token revoked") {
		t.Errorf("events --follow ended with %v, want the stream.end reason", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"seq":3`) || !strings.Contains(lines[2], `"seq":5`) {
		t.Errorf("printed:\n%s\nwant events 3, 4 and 5, one a line", out)
	}
	if want := []string{"type=instance.|2", "type=instance.|4"}; fmt.Sprint(s.seen) != fmt.Sprint(want) {
		t.Errorf("streams opened with %v, want %v (resumed after the last event read)", s.seen, want)
	}
}

// events without --follow lists the log after --since, filtered by type, as a table.
func TestEventsList(t *testing.T) {
	f := newFakeAPI(t)
	f.answerWith(200, `[{"seq":3,"type":"instance.state","id":"i1","time":"2026-01-01T00:00:00Z"},{"seq":4,"type":"volume.created","id":"v1","time":"2026-01-01T00:00:00Z"}]`)
	out, _ := mustCLI(t, f.URL, "events", "--since", "2", "--type", "instance.")
	if r := f.only(); r.Path != "/api/v1/events" || r.Query != "since=2&limit=5000" {
		t.Errorf("listed with %s?%s", r.Path, r.Query)
	}
	if !strings.Contains(out, "instance.state") || strings.Contains(out, "volume.created") || !strings.HasPrefix(out, "SEQ") {
		t.Errorf("events --type instance. printed:\n%s", out)
	}
}

// --wait subscribes to the instance's events first, then reads the instance, and reads it again
// only when an event about it arrives (no polling, no lost wake-up).
func TestWaitFollowsTheEventStream(t *testing.T) {
	var mu sync.Mutex
	var log []string
	subscribed, changed := false, false
	readAfterSubscribe := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Header.Get("Accept") == "text/event-stream" {
			log, subscribed = append(log, "subscribe "+r.URL.RawQuery), true
			mu.Unlock()
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			<-readAfterSubscribe // the instance changes after the CLI read it
			mu.Lock()
			changed = true
			mu.Unlock()
			io.WriteString(w, sseEvent(7, "instance.state"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		log = append(log, "get")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case changed:
			io.WriteString(w, `{"id":"i1","name":"vm","vm_state":"active","power_state":"running"}`)
		case subscribed:
			close(readAfterSubscribe)
			subscribed = false
			fallthrough
		default:
			io.WriteString(w, `{"id":"i1","name":"vm","vm_state":"building","task_state":"spawning"}`)
		}
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	out, _ := mustCLI(t, srv.URL, "instance", "wait", "vm", "settled")
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"get", "subscribe resource=i1", "get", "get"}; fmt.Sprint(log) != fmt.Sprint(want) {
		t.Errorf("requests %v, want %v: find the instance, subscribe, read it, read it again after its event", log, want)
	}
	if !strings.Contains(out, "active") {
		t.Errorf("printed:\n%s", out)
	}
}
