package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"cloudlet/appliance/fault"
)

// hubPage is how many events the hub reads from the catalog at a time.
const hubPage = 500

// hubRetry is how long the hub waits after a failed read of the log before it reads again.
const hubRetry = time.Second

// streamEvent is one event of the log as the hub hands it out: the fields filters look at, decoded
// once for every subscriber, and the event's JSON as the paged list shows it.
type streamEvent struct {
	Seq       uint64 `json:"seq"`
	Type      string `json:"type"`
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`

	raw json.RawMessage
}

func decodeStreamEvent(raw json.RawMessage) (streamEvent, error) {
	var e streamEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("decode event: %w", err)
	}
	e.raw = raw
	return e, nil
}

// eventFilter is what one subscriber wants: a project's events (all projects when ""), of the
// given types (exact, or a prefix ending in "."; all when empty), about one resource ID ("": any).
type eventFilter struct {
	project  string
	types    []string
	resource string
}

func (f eventFilter) match(e *streamEvent) bool {
	if f.project != "" && e.ProjectID != f.project {
		return false
	}
	if f.resource != "" && e.ID != f.resource {
		return false
	}
	if len(f.types) == 0 {
		return true
	}
	for _, t := range f.types {
		if e.Type == t || (strings.HasSuffix(t, ".") && strings.HasPrefix(e.Type, t)) {
			return true
		}
	}
	return false
}

// subscriber is one stream's place at the hub: a bounded buffer of the events it wants. The hub
// never waits on it: when the buffer is full the hub closes ch and forgets it (overflowed).
type subscriber struct {
	filter     eventFilter
	ch         chan *streamEvent // shared with other subscribers: read only
	overflowed bool              // set by the hub before it closes ch because the buffer was full
}

// eventHub reads the catalog's new events once per commit that appended some and fans them out to
// every subscriber whose filter matches. It starts with its first subscriber.
type eventHub struct {
	read     func(since uint64, limit int) ([]json.RawMessage, error)
	appended func() <-chan struct{}
	log      *slog.Logger
	buffer   int
	max      int

	mu      sync.Mutex // guards the fields below
	subs    map[*subscriber]struct{}
	last    uint64 // seq of the last event handed out (or of the log's end when the hub started)
	started bool
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

func newEventHub(read func(uint64, int) ([]json.RawMessage, error), appended func() <-chan struct{},
	log *slog.Logger, buffer, maxSubs int) *eventHub {
	return &eventHub{read: read, appended: appended, log: log, buffer: buffer, max: maxSubs,
		subs: map[*subscriber]struct{}{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// errStreamClosed answers subscriptions after Shutdown.
var errStreamClosed = fault.New(fault.Unavailable, "the event stream is shutting down")

// subscribe registers a subscriber for f and returns it with the hub's position: every event after
// that seq which f matches reaches the subscriber's buffer; the caller replays those up to it.
func (h *eventHub) subscribe(f eventFilter) (*subscriber, uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, 0, errStreamClosed
	case len(h.subs) >= h.max:
		return nil, 0, fault.New(fault.TooManyRequests, "too many event streams open on this server (%d)", h.max)
	}
	if !h.started {
		end, err := logEnd(h.read)
		if err != nil {
			return nil, 0, err
		}
		h.last, h.started = end, true
		go h.run()
	}
	s := &subscriber{filter: f, ch: make(chan *streamEvent, h.buffer)}
	h.subs[s] = struct{}{}
	return s, h.last, nil
}

// unsubscribe forgets s (it may be gone already).
func (h *eventHub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// close ends every stream and the hub's reader, and refuses new subscribers.
func (h *eventHub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
	started := h.started
	close(h.stop)
	h.mu.Unlock()
	if started {
		<-h.done
	}
}

// run reads the log after each commit that appended to it until close. The wake-up channel is
// taken before each read, so an event committed after a read always wakes the next one.
func (h *eventHub) run() {
	defer close(h.done)
	for {
		wake, retry := h.appended(), (<-chan time.Time)(nil)
		if err := h.poll(); err != nil {
			h.log.Error("event stream: read the event log", "err", err)
			wake, retry = nil, time.After(hubRetry)
		}
		select {
		case <-wake:
		case <-retry:
		case <-h.stop:
			return
		}
	}
}

// poll hands out every event after the hub's position.
func (h *eventHub) poll() error {
	for {
		h.mu.Lock()
		since := h.last
		h.mu.Unlock()
		batch, err := h.read(since, hubPage)
		if err != nil {
			return err
		}
		evs := make([]streamEvent, 0, len(batch))
		for _, raw := range batch {
			e, err := decodeStreamEvent(raw)
			if err != nil {
				return fmt.Errorf("after %d: %w", since, err)
			}
			evs = append(evs, e)
		}
		h.publish(since, evs)
		if len(batch) < hubPage {
			return nil
		}
	}
}

// publish hands evs (read after since) to the subscribers whose filters match. A subscriber whose
// buffer is full is closed, never waited on. Events pruned before the hub read them are announced
// to every subscriber as a gap.
func (h *eventHub) publish(since uint64, evs []streamEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(evs) > 0 && evs[0].Seq > since+1 {
		gap := gapEvent(since, evs[0].Seq)
		for s := range h.subs {
			h.offer(s, &gap)
		}
	}
	for i := range evs {
		for s := range h.subs {
			if s.filter.match(&evs[i]) {
				h.offer(s, &evs[i])
			}
		}
		h.last = evs[i].Seq
	}
}

// offer puts e in s's buffer, or closes s if the buffer is full; the caller holds mu.
func (h *eventHub) offer(s *subscriber, e *streamEvent) {
	select {
	case s.ch <- e:
	default:
		s.overflowed = true
		delete(h.subs, s)
		close(s.ch)
	}
}

// streamGapType is the type of the event a stream sends where events it should have sent were
// pruned from the log before it could: its data says after which seq and before which they are missing.
const streamGapType = "stream.gap"

// gapEvent says the events after since and before next are gone. Its seq is next-1, so a client
// resuming from it does not hear of the same gap again.
func gapEvent(since, next uint64) streamEvent {
	raw, _ := json.Marshal(map[string]any{"type": streamGapType, "after": since, "next": next})
	return streamEvent{Seq: next - 1, Type: streamGapType, raw: raw}
}

// logEnd finds the seq of the log's last event (0 when empty) in O(log n) reads of one event each:
// read(x, 1) returns an event exactly when the last seq is above x.
func logEnd(read func(uint64, int) ([]json.RawMessage, error)) (uint64, error) {
	above := func(x uint64) (bool, error) {
		evs, err := read(x, 1)
		return len(evs) > 0, err
	}
	if ok, err := above(0); err != nil || !ok {
		return 0, err
	}
	lo, hi := uint64(0), uint64(1) // the end is above lo; above hi too, until hi doubled enough
	for {
		ok, err := above(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		if hi > 1<<62 {
			return 0, errors.New("find the event log's end: sequence numbers out of range")
		}
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := above(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi, nil
}
