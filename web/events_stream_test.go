package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/store"
	"cloudlet/web/client"
)

// streamFixture is the auth fixture's server again, with the event stream wired to its catalog and
// serving on a loopback listener (loopback is not trusted: every stream needs a token).
type streamFixture struct {
	*authFixture
	srv      *Server
	url      string
	projects map[string]string // name → ID
}

func newStreamFixture(t *testing.T, limits Limits, so EventStreamOptions) *streamFixture {
	t.Helper()
	f := newAuthFixture(t)
	o := f.srv.opts
	o.EventsAppended, o.EventStream, o.Limits = f.db.EventsAppended, so, limits
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	sf := &streamFixture{authFixture: f, srv: srv, url: "http://" + serveLoopback(t, srv), projects: map[string]string{}}
	for _, name := range []string{"pa", "pb"} {
		p, err := f.ids.Project(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		sf.projects[name] = p.ID
	}
	return sf
}

// serveLoopback serves s on a new loopback TCP listener until the test ends, and returns its address.
func serveLoopback(t testing.TB, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return l.Addr().String()
}

// open opens a stream as who (a role or user name of the fixture), with query q, resuming after lastID.
func (f *streamFixture) open(who string, q url.Values, lastID string, headers ...string) *client.EventStream {
	f.t.Helper()
	c := client.New(client.Options{URL: f.url, Token: f.tokens[who]})
	if len(headers) == 2 {
		c = client.New(client.Options{URL: f.url, Token: f.tokens[who], Project: headers[1]})
	}
	st, err := c.Events(context.Background(), q, lastID)
	if err != nil {
		f.t.Fatalf("open stream as %s: %v", who, err)
	}
	f.t.Cleanup(func() { st.Close() })
	return st
}

// appendEvent commits one event of project (a fixture project name, or "" for none) and returns its seq.
func (f *streamFixture) appendEvent(typ, project, id string) uint64 {
	f.t.Helper()
	e := &store.Event{Type: typ, Kind: "thing", ID: id, ProjectID: f.projects[project]}
	if err := f.db.Update(func(tx *store.Tx) error { return store.AppendEvent(tx, e) }); err != nil {
		f.t.Fatal(err)
	}
	return e.Seq
}

// next reads the stream's next event.
func next(t *testing.T, st *client.EventStream) client.Event {
	t.Helper()
	e, err := st.Next()
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	return e
}

// eventOf decodes an event's data as the paged list shows it.
func eventOf(t *testing.T, e client.Event) store.Event {
	t.Helper()
	var se store.Event
	if err := json.Unmarshal(e.Data, &se); err != nil {
		t.Fatalf("event %d data %s: %v", e.Seq, e.Data, err)
	}
	if se.Seq != e.Seq || se.Type != e.Type {
		t.Fatalf("event id %d type %s, but its data says seq %d type %s", e.Seq, e.Type, se.Seq, se.Type)
	}
	return se
}

// readUntil reads events until the one with seq last, and returns their seqs.
func readUntil(t *testing.T, st *client.EventStream, last uint64) []uint64 {
	t.Helper()
	var seqs []uint64
	for {
		e := next(t, st)
		seqs = append(seqs, e.Seq)
		if e.Seq >= last {
			return seqs
		}
	}
}

// TestEventStreamIsScopedToTheCallersProject: a member's (and a reader's) stream carries its own
// project's events only; an admin's every project's, or one project's with X-Cloudlet-Project.
func TestEventStreamIsScopedToTheCallersProject(t *testing.T) {
	f := newStreamFixture(t, Limits{}, EventStreamOptions{})
	streams := map[string]*client.EventStream{
		"member": f.open("member", nil, ""), "reader": f.open("reader", nil, ""), "memberb": f.open("memberb", nil, ""),
		"admin": f.open("admin", nil, ""), "admin in pb": f.open("admin", nil, "", ProjectHeader, "pb"),
	}
	var pa, pb []uint64
	for i := range 5 {
		pa = append(pa, f.appendEvent("thing.changed", "pa", fmt.Sprint("a", i)))
		pb = append(pb, f.appendEvent("thing.changed", "pb", fmt.Sprint("b", i)))
	}
	want := map[string][]uint64{"member": pa, "reader": pa, "memberb": pb, "admin in pb": pb}
	all := make([]uint64, 0, len(pa)+len(pb))
	for i := range pa {
		all = append(all, pa[i], pb[i])
	}
	want["admin"] = all
	for who, seqs := range want {
		if got := readUntil(t, streams[who], seqs[len(seqs)-1]); fmt.Sprint(got) != fmt.Sprint(seqs) {
			t.Errorf("%s's stream = seqs %v, want %v", who, got, seqs)
		}
	}
}

// TestEventStreamFilters: ?type= takes exact types and prefixes ending in ".", comma-separated;
// ?resource= takes a resource's ID.
func TestEventStreamFilters(t *testing.T) {
	f := newStreamFixture(t, Limits{}, EventStreamOptions{})
	start := f.appendEvent("marker", "pa", "")
	seqs := map[string]uint64{}
	for _, e := range []struct{ typ, id string }{
		{"instance.created", "i1"}, {"instance.state", "i1"}, {"volume.created", "v1"},
		{"instance.state", "i2"}, {"instancex.created", "x1"}, {"volume.deleted", "v1"},
	} {
		seqs[e.typ+"/"+e.id] = f.appendEvent(e.typ, "pa", e.id)
	}
	for _, tt := range []struct {
		query url.Values
		want  []string
	}{
		{url.Values{"type": {"instance.state"}}, []string{"instance.state/i1", "instance.state/i2"}},
		{url.Values{"type": {"instance."}}, []string{"instance.created/i1", "instance.state/i1", "instance.state/i2"}},
		{url.Values{"type": {"volume.deleted, instance.created"}}, []string{"instance.created/i1", "volume.deleted/v1"}},
		{url.Values{"resource": {"v1"}}, []string{"volume.created/v1", "volume.deleted/v1"}},
		{url.Values{"resource": {"i1"}, "type": {"instance.state"}}, []string{"instance.state/i1"}},
	} {
		tt.query.Set("since", strconv.FormatUint(start, 10))
		var want []uint64
		for _, k := range tt.want {
			want = append(want, seqs[k])
		}
		if got := readUntil(t, f.open("member", tt.query, ""), want[len(want)-1]); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("stream ?%s = seqs %v, want %v (%v)", tt.query.Encode(), got, want, tt.want)
		}
	}
}

// TestEventStreamResumesWithoutGapOrDuplicate: while events are being appended, a client that
// reconnects with Last-Event-ID (or ?since=) again and again receives every event exactly once, in order.
func TestEventStreamResumesWithoutGapOrDuplicate(t *testing.T) {
	f := newStreamFixture(t, Limits{}, EventStreamOptions{})
	first := f.appendEvent("thing.changed", "pa", "x")
	const total = 300
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		for range total {
			f.appendEvent("thing.changed", "pa", "x")
		}
	}()
	got := []uint64{}
	for i, resumeFrom := 0, first; len(got) < total; i++ {
		q, lastID := url.Values{}, strconv.FormatUint(resumeFrom, 10)
		if i%2 == 1 {
			q.Set("since", lastID)
			lastID = ""
		}
		st := f.open("member", q, lastID)
		for n := 7 + i%13; n > 0 && len(got) < total; n-- { // a few events, then the client goes away
			e := next(t, st)
			got, resumeFrom = append(got, e.Seq), e.Seq
		}
		st.Close()
	}
	<-appended
	for i, seq := range got {
		if seq != first+1+uint64(i) {
			t.Fatalf("event %d has seq %d, want %d: a gap or a duplicate in %v", i, seq, first+1+uint64(i), got)
		}
	}
}

// TestAStalledConsumerIsClosedAndOthersKeepReceiving: a subscriber that never reads is closed once
// its buffer is full, without holding up the hub; another stream keeps receiving every event.
func TestAStalledConsumerIsClosedAndOthersKeepReceiving(t *testing.T) {
	const buffer = 4
	f := newStreamFixture(t, Limits{}, EventStreamOptions{Buffer: buffer})
	live := f.open("member", nil, "")
	f.appendEvent("thing.changed", "pa", "x")
	next(t, live) // the hub is running
	stalled, _, err := f.srv.hub.subscribe(eventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// The live consumer reads each event before the next is written (it keeps up by construction:
	// its buffer is as small as the stalled one's, and a burst could overflow a consumer the
	// scheduler left behind); the stalled one never reads.
	var want, got []uint64
	for range 3 * buffer {
		seq := f.appendEvent("thing.changed", "pa", "x")
		want = append(want, seq)
		got = append(got, readUntil(t, live, seq)...)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the other stream = %v, want %v", got, want)
	}
	n := 0
	for range stalled.ch {
		n++
	}
	if n != buffer || !stalled.overflowed {
		t.Errorf("the stalled subscriber held %d events and overflowed=%v, want %d and closed for overflow", n, stalled.overflowed, buffer)
	}
	f.srv.hub.mu.Lock()
	_, still := f.srv.hub.subs[stalled]
	f.srv.hub.mu.Unlock()
	if still {
		t.Error("the hub still has the stalled subscriber")
	}
}

// TestAStreamThatFallsBehindIsToldToResume: a stream whose buffer overflowed ends with a
// stream.overflow event naming the last seq it sent, from which it resumes without a gap.
func TestAStreamThatFallsBehindIsToldToResume(t *testing.T) {
	f := newStreamFixture(t, Limits{}, EventStreamOptions{Buffer: 1})
	st := f.open("member", nil, "")
	seq1 := f.appendEvent("thing.changed", "pa", "x")
	if e := next(t, st); e.Seq != seq1 {
		t.Fatalf("got %+v, want event %d", e, seq1)
	}
	h := f.srv.hub
	h.mu.Lock()
	for sub := range h.subs { // the stream's one subscriber: fill its buffer faster than it drains
		for !sub.overflowed {
			h.offer(sub, &streamEvent{}) // seq 0: sent already, never written
		}
	}
	h.mu.Unlock()
	seq2 := f.appendEvent("thing.changed", "pa", "x") // the overflowed stream misses it
	e := next(t, st)
	var d struct {
		LastID uint64 `json:"last_id"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil || e.Type != client.EventStreamOverflow || d.LastID != seq1 {
		t.Fatalf("after the overflow the stream gave %s %s, want %s with last_id %d", e.Type, e.Data, client.EventStreamOverflow, seq1)
	}
	if _, err := st.Next(); err != io.EOF {
		t.Errorf("after stream.overflow: %v, want the end of the stream", err)
	}
	resumed := f.open("member", nil, strconv.FormatUint(d.LastID, 10))
	if e := next(t, resumed); e.Seq != seq2 {
		t.Errorf("resumed after %d: got %+v, want event %d", d.LastID, e, seq2)
	}
}

// TestEventStreamHeartbeatsKeepAnIdleStreamOpen: an idle stream sends comment lines, which keep it
// alive past the server's write stall guard, so an event long after the last one still arrives.
func TestEventStreamHeartbeatsKeepAnIdleStreamOpen(t *testing.T) {
	f := newStreamFixture(t, Limits{WriteTimeout: 100 * time.Millisecond}, EventStreamOptions{Heartbeat: 10 * time.Millisecond})
	st := f.open("member", nil, "")
	beats := make(chan string, 100)
	st.OnComment = func(c string) { beats <- c }
	got := make(chan client.Event, 1)
	go func() {
		e, _ := st.Next()
		got <- e
	}()
	for range 30 { // ≥ 300 ms idle: three write timeouts
		<-beats
	}
	seq := f.appendEvent("thing.changed", "pa", "x")
	if e := <-got; e.Seq != seq {
		t.Errorf("after an idle spell the stream gave %+v, want event %d", e, seq)
	}
}

// TestEventStreamEndsWhenItsTokenIsRevoked: a stream checks its token again periodically and ends
// with stream.end once it is revoked.
func TestEventStreamEndsWhenItsTokenIsRevoked(t *testing.T) {
	f := newStreamFixture(t, Limits{}, EventStreamOptions{Recheck: 10 * time.Millisecond})
	st := f.open("member", nil, "")
	seq := f.appendEvent("thing.changed", "pa", "x")
	if e := next(t, st); e.Seq != seq {
		t.Fatalf("got %+v, want event %d", e, seq)
	}
	p, err := f.ids.Resolve(context.Background(), f.tokens["member"])
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ids.RevokeToken(context.Background(), p.UserID, p.TokenID); err != nil {
		t.Fatal(err)
	}
	if e := next(t, st); e.Type != client.EventStreamEnd {
		t.Errorf("after the revocation the stream gave %s %s, want %s", e.Type, e.Data, client.EventStreamEnd)
	}
	if _, err := st.Next(); err != io.EOF {
		t.Errorf("after stream.end: %v, want the end of the stream", err)
	}
}

// TestShutdownEndsEventStreams: Shutdown closes open streams rather than waiting for them to go
// idle, which they never do.
func TestShutdownEndsEventStreams(t *testing.T) {
	f := newStreamFixture(t, Limits{}, EventStreamOptions{})
	streams := []*client.EventStream{f.open("member", nil, ""), f.open("admin", nil, "")}
	f.appendEvent("thing.changed", "pa", "x")
	for _, st := range streams {
		next(t, st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown with open streams: %v", err)
	}
	for _, st := range streams {
		e, err := st.Next()
		if err == nil && e.Type == client.EventStreamEnd {
			e, err = st.Next()
		}
		if err != io.EOF {
			t.Errorf("after Shutdown a stream read %+v, %v; want stream.end and its end", e, err)
		}
	}
}

// TestEventStreamReportsPrunedEvents: resuming from before the oldest event still kept yields a
// stream.gap event saying which are gone, then the rest.
func TestEventStreamReportsPrunedEvents(t *testing.T) {
	f := newStreamFixture(t, Limits{}, EventStreamOptions{})
	before := f.appendEvent("thing.changed", "pa", "x")
	var seqs []uint64
	for range 5 {
		seqs = append(seqs, f.appendEvent("thing.changed", "pa", "x"))
	}
	if err := f.db.Update(func(tx *store.Tx) error { _, err := store.PruneEvents(tx, 2); return err }); err != nil {
		t.Fatal(err)
	}
	st := f.open("member", nil, strconv.FormatUint(before, 10))
	gap := next(t, st)
	var d struct{ After, Next uint64 }
	if err := json.Unmarshal(gap.Data, &d); err != nil || gap.Type != client.EventStreamGap || d.After != before || d.Next != seqs[3] {
		t.Fatalf("first event %s %s, want %s after %d next %d", gap.Type, gap.Data, client.EventStreamGap, before, seqs[3])
	}
	if got := readUntil(t, st, seqs[4]); fmt.Sprint(got) != fmt.Sprint(seqs[3:]) {
		t.Errorf("after the gap: %v, want %v", got, seqs[3:])
	}
}

// TestTheListStaysForOtherAcceptHeaders: without Accept: text/event-stream the route still answers
// the paged JSON list, whose entries are the streamed events' data.
func TestTheListStaysForOtherAcceptHeaders(t *testing.T) {
	f := newStreamFixture(t, Limits{}, EventStreamOptions{})
	seq := f.appendEvent("thing.changed", "pa", "x")
	st := f.open("member", url.Values{"since": {strconv.FormatUint(seq-1, 10)}}, "")
	streamed := eventOf(t, next(t, st))
	rec := f.do("GET", fmt.Sprintf("/api/v1/events?since=%d", seq-1), f.tokens["member"], "", "Accept", "application/json")
	var list []store.Event
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 {
		t.Fatalf("list = %d %s", rec.Code, rec.Body)
	}
	if a, b := fmt.Sprint(list[0]), fmt.Sprint(streamed); a != b {
		t.Errorf("listed %s, streamed %s", a, b)
	}
}

// TestLogEnd: the hub finds the last seq of logs of any length with reads of one event.
func TestLogEnd(t *testing.T) {
	for _, end := range []uint64{0, 1, 2, 3, 7, 8, 9, 1000, 1 << 20, 1<<20 + 1} {
		reads := 0
		read := func(since uint64, limit int) ([]json.RawMessage, error) {
			reads++
			if since >= end {
				return nil, nil
			}
			return []json.RawMessage{json.RawMessage(fmt.Sprintf(`{"seq":%d}`, since+1))}, nil
		}
		got, err := logEnd(read)
		if err != nil || got != end {
			t.Errorf("logEnd of a log ending at %d = %d, %v", end, got, err)
		}
		if reads > 50 {
			t.Errorf("logEnd of a log ending at %d took %d reads", end, reads)
		}
	}
	if _, err := logEnd(func(uint64, int) ([]json.RawMessage, error) { return nil, errors.New("boom") }); err == nil {
		t.Error("logEnd hid a read error")
	}
}

// TestAClientThatStopsReadingLosesItsConnection: a stream whose client stops reading does not hold
// its connection past the server's write stall guard (Limits.WriteTimeout), and another stream
// receives every event meanwhile.
func TestAClientThatStopsReadingLosesItsConnection(t *testing.T) {
	f := newStreamFixture(t, Limits{WriteTimeout: time.Second}, EventStreamOptions{Buffer: 100})
	live := f.open("member", url.Values{"type": {"small."}}, "")
	small := func(_, _ string, c syscall.RawConn) error { // a small receive buffer the kernel does not grow
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}
	stalled, err := (&net.Dialer{Control: small}).Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fmt.Fprintf(stalled, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n", f.tokens["member"])
	big := json.RawMessage(`"` + strings.Repeat("x", 128<<10) + `"`)
	var want []uint64
	for range 64 { // 8 MiB: more than the kernel buffers between the two ends hold (4 MiB at most)
		e := &store.Event{Type: "big.changed", ID: "x", ProjectID: f.projects["pa"], Data: big}
		if err := f.db.Update(func(tx *store.Tx) error { return store.AppendEvent(tx, e) }); err != nil {
			t.Fatal(err)
		}
		want = append(want, f.appendEvent("small.changed", "pa", "x"))
	}
	if got := readUntil(t, live, want[len(want)-1]); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the other stream = %v, want %v", got, want)
	}
	for !strings.Contains(f.log.String(), "path=/api/v1/events") { // the stalled stream's request ended
		time.Sleep(10 * time.Millisecond)
	}
	n, err := io.Copy(io.Discard, stalled) // what the kernel buffered, then the server's close
	if err != nil {
		t.Errorf("reading the stalled connection after %d bytes: %v", n, err)
	}
	if n >= int64(len(want)*len(big)) {
		t.Errorf("the stalled client could still read %d bytes: it was never cut", n)
	}
}
