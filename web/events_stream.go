package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

// EventStreamOptions bound the server-sent event stream of GET /api/v1/events. Zero fields take the
// defaults below.
type EventStreamOptions struct {
	// Heartbeat is how often an idle stream sends a comment line, which keeps proxies, the client
	// and the server's own stall guard (Limits.WriteTimeout) from taking it for dead.
	Heartbeat time.Duration
	// Recheck is how often a stream checks that the token or API key it was opened with is still
	// valid (not revoked or expired, its user still in the project); the stream ends when not.
	Recheck time.Duration
	// Buffer is how many events one stream may fall behind the log before it is closed: the client
	// then resumes with Last-Event-ID.
	Buffer int
	// MaxStreams caps the streams open on the server at once; past it a new one answers 429.
	MaxStreams int
}

// Event stream defaults.
const (
	DefaultStreamHeartbeat = 15 * time.Second
	DefaultStreamRecheck   = 30 * time.Second
	DefaultStreamBuffer    = 256
	DefaultMaxStreams      = 1024
)

func (o EventStreamOptions) withDefaults() EventStreamOptions {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultStreamHeartbeat
	}
	if o.Recheck <= 0 {
		o.Recheck = DefaultStreamRecheck
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultStreamBuffer
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	return o
}

// Event types a stream sends of its own, besides the log's events (see also streamGapType).
const (
	// streamOverflowType ends a stream that fell more than Buffer events behind: resume from the last id.
	streamOverflowType = "stream.overflow"
	// streamEndType ends a stream whose token or API key is no longer valid, or at server shutdown.
	streamEndType = "stream.end"
)

// wantsStream reports whether the client asks for server-sent events.
func wantsStream(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/event-stream")
}

// streamEvents serves GET /api/v1/events as server-sent events: the events after Last-Event-ID (or
// ?since=) from the log, then new ones as they are committed; without either, only new ones. Each
// message is "id: SEQ", "event: TYPE", "data: the event's JSON". Filters: ?type=T[,T…] (exact, or a
// prefix ending in ".") and ?resource=ID. Members see their project's events; admins every
// project's, or one project's with X-Cloudlet-Project.
func (s *Server) streamEvents(c echo.Context) error {
	if s.hub == nil {
		return fault.New(fault.Unavailable, "this server has no event stream")
	}
	f, since, resume, err := s.streamRequest(c)
	if err != nil {
		return err
	}
	sub, pos, err := s.hub.subscribe(f)
	if err != nil {
		return err
	}
	defer s.hub.unsubscribe(sub)
	st := &eventStream{s: s, c: c, filter: f, sent: pos}
	st.start()
	if resume {
		st.sent = since
		if err := st.replay(since, pos); err != nil {
			return st.end(err)
		}
	}
	return st.end(st.follow(sub))
}

// streamRequest reads a stream request's filters and where it resumes from.
func (s *Server) streamRequest(c echo.Context) (f eventFilter, since uint64, resume bool, err error) {
	if !s.isAdmin(c) || c.Request().Header.Get(ProjectHeader) != "" {
		f.project = s.project(c)
	}
	for _, t := range strings.Split(c.QueryParam("type"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			f.types = append(f.types, t)
		}
	}
	f.resource = c.QueryParam("resource")
	if id := c.Request().Header.Get("Last-Event-ID"); id != "" {
		since, err = strconv.ParseUint(strings.TrimSpace(id), 10, 64)
		if err != nil {
			return f, 0, false, fault.New(fault.Invalid, "Last-Event-ID must be an event's seq, not %q", id)
		}
		return f, since, true, nil
	}
	if c.QueryParams().Has("since") {
		since, err = queryUint(c, "since", 0)
		return f, since, err == nil, err
	}
	return f, 0, false, nil
}

// eventStream is one open stream: what it sends and how far it got.
type eventStream struct {
	s      *Server
	c      echo.Context
	filter eventFilter
	sent   uint64 // the seq of the last event sent, or passed over; later ones only are sent
}

func (st *eventStream) start() {
	h := st.c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	st.c.Response().WriteHeader(http.StatusOK)
	st.c.Response().Flush()
}

// replay sends the log's matching events after since, up to and including until (the hub's position
// when the stream subscribed: later ones come from the hub). Pruned events are announced as a gap.
func (st *eventStream) replay(since, until uint64) error {
	for first := true; since < until; first = false {
		batch, err := st.s.opts.Events(since, hubPage)
		if err != nil {
			return err
		}
		if first && (len(batch) == 0 || firstSeq(batch) > since+1) {
			next := until + 1
			if len(batch) > 0 {
				next = min(firstSeq(batch), next)
			}
			if err := st.send(gapEvent(since, next)); err != nil {
				return err
			}
		}
		for _, raw := range batch {
			e, err := decodeStreamEvent(raw)
			if err != nil {
				return err
			}
			if e.Seq > until {
				return nil
			}
			if st.filter.match(&e) {
				if err := st.send(e); err != nil {
					return err
				}
			}
			since = e.Seq
		}
		if len(batch) < hubPage {
			break
		}
	}
	st.sent = max(st.sent, until)
	return nil
}

func firstSeq(batch []json.RawMessage) uint64 {
	e, _ := decodeStreamEvent(batch[0])
	return e.Seq
}

// follow sends the hub's events as they come, a heartbeat when idle, and ends when the hub closes
// the subscription (overflow or shutdown), the client goes, or the credential is no longer valid.
func (st *eventStream) follow(sub *subscriber) error {
	o := st.s.streamOpts
	heartbeat := time.NewTicker(o.Heartbeat)
	defer heartbeat.Stop()
	recheck := time.NewTicker(o.Recheck)
	defer recheck.Stop()
	ctx := st.c.Request().Context()
	for {
		select {
		case e, ok := <-sub.ch:
			switch {
			case !ok && sub.overflowed:
				return errStreamOverflow
			case !ok:
				return errStreamClosed
			}
			if err := st.send(*e); err != nil {
				return err
			}
		case <-heartbeat.C:
			if err := st.write(": heartbeat\n\n"); err != nil {
				return err
			}
		case <-recheck.C:
			if err := st.recheck(); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// errStreamOverflow ends a stream whose client fell too far behind.
var errStreamOverflow = fault.New(fault.TooManyRequests, "this stream fell too far behind the event log: resume with Last-Event-ID")

func (st *eventStream) recheck() error {
	if st.s.opts.Identity == nil {
		return nil
	}
	p, _ := st.c.Get(principalKeyName).(identity.Principal)
	return st.s.opts.Identity.Recheck(st.c.Request().Context(), p)
}

// send writes e unless a later event was sent already (a seq is sent once).
func (st *eventStream) send(e streamEvent) error {
	if e.Seq <= st.sent {
		return nil
	}
	st.sent = max(st.sent, e.Seq)
	return st.write(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, e.raw))
}

func (st *eventStream) write(msg string) error {
	if _, err := st.c.Response().Write([]byte(msg)); err != nil {
		return err
	}
	return http.NewResponseController(st.c.Response()).Flush()
}

// end closes the stream after err: the client, if still there, is told why in a last event
// (overflow: resume with Last-Event-ID; otherwise stream.end). The response has begun, so nothing
// is returned to echo's error handler; the reason is logged.
func (st *eventStream) end(err error) error {
	if err == nil || st.c.Request().Context().Err() != nil {
		return nil
	}
	typ := streamEndType
	if err == errStreamOverflow {
		typ = streamOverflowType
	}
	data, _ := json.Marshal(map[string]any{"type": typ, "reason": err.Error(), "last_id": st.sent})
	_ = st.write(fmt.Sprintf("event: %s\ndata: %s\n\n", typ, data))
	st.s.log.Debug("event stream ended", "reason", err)
	return nil
}
