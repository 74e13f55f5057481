package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cloudlet/web/client"
)

// registerEvents registers the dashboard's live event stream.
func (s *Server) registerEvents() {
	s.handle(http.MethodGet, "/ui/events", s.withSession(s.events))
}

// uiHeartbeat is how often an idle /ui/events stream sends a comment, well inside the API's stall guard.
const uiHeartbeat = 15 * time.Second

// Names of the events /ui/events sends for htmx's sse extension (hx-trigger="sse:NAME").
const (
	eventInstanceChanged = "instance-changed" // an instance was created or deleted: lists refetch
	eventResync          = "resync"           // events were missed: everything live refetches
	eventInstancePrefix  = "instance-"        // + the instance's ID: that instance changed
	eventVolumeChanged   = "volume-changed"   // any volume changed: the volumes list refetches
	eventVolumePrefix    = "volume-"          // + the volume's ID: that volume changed
)

// uiEvent is one message of /ui/events: small, only enough for a page to know what to refetch.
type uiEvent struct {
	Name string
	Seq  uint64
	Data string
}

// events serves GET /ui/events: the API's own event stream of the session's project (GET
// /api/v1/events as server-sent events, through the in-process client, so the API decides what the
// session may see), re-emitted as named events a page's elements listen to. It resumes after
// Last-Event-ID (the API's seq), which the browser sends when it reconnects.
func (s *Server) events(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st, err := s.api(sess).Events(ctx, url.Values{"type": {"instance.,volume."}}, r.Header.Get("Last-Event-ID"))
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	defer st.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if _, err := io.WriteString(w, "retry: 2000\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	s.relay(ctx, w, rc, readEvents(ctx, st))
}

// readEvents reads the API stream into a channel, closed when the stream ends.
func readEvents(ctx context.Context, st *client.EventStream) <-chan client.Event {
	ch := make(chan client.Event)
	go func() {
		defer close(ch)
		for {
			e, err := st.Next()
			if err != nil {
				return
			}
			select {
			case ch <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// relay writes the dashboard's events for each API event, and a heartbeat when idle, until the API
// stream or the browser goes away. A stream the API ends (overflow, an expired session) closes: the
// browser reconnects with Last-Event-ID, or is sent to log in.
func (s *Server) relay(ctx context.Context, w io.Writer, rc *http.ResponseController, in <-chan client.Event) {
	beat := time.NewTicker(uiHeartbeat)
	defer beat.Stop()
	for {
		var out []uiEvent
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			continue
		case e, ok := <-in:
			if !ok || e.Type == client.EventStreamOverflow || e.Type == client.EventStreamEnd {
				return
			}
			out = dashboardEvents(e)
		}
		for _, ev := range out {
			if _, err := io.WriteString(w, ev.String()); err != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// dashboardEvents maps an API event to what the dashboard sends: instance-<id> for every change of
// an instance, and instance-changed too when one was created or deleted; volume-<id> and
// volume-changed for every change of a volume; resync after a gap.
func dashboardEvents(e client.Event) []uiEvent {
	if e.Type == client.EventStreamGap {
		return []uiEvent{{Name: eventResync, Seq: e.Seq, Data: "{}"}}
	}
	var body struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Data struct {
			VMState string `json:"vm_state"`
		} `json:"data"`
	}
	if json.Unmarshal(e.Data, &body) != nil || body.ID == "" {
		return nil
	}
	if body.Kind == "volume" {
		data, _ := json.Marshal(map[string]string{"id": body.ID, "type": e.Type})
		return []uiEvent{{Name: eventVolumePrefix + body.ID, Seq: e.Seq, Data: string(data)},
			{Name: eventVolumeChanged, Seq: e.Seq, Data: string(data)}}
	}
	if body.Kind != "instance" {
		return nil
	}
	data, _ := json.Marshal(map[string]string{"id": body.ID, "state": body.Data.VMState, "type": e.Type})
	out := []uiEvent{{Name: eventInstancePrefix + body.ID, Seq: e.Seq, Data: string(data)}}
	if e.Type == "instance.created" || e.Type == "instance.deleted" {
		out = append(out, uiEvent{Name: eventInstanceChanged, Seq: e.Seq, Data: string(data)})
	}
	return out
}

// String is the event in the text/event-stream format.
func (e uiEvent) String() string {
	return fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Name, strings.ReplaceAll(e.Data, "\n", ""))
}
