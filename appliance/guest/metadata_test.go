package guest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/fault"
)

// fakeGuests is a Documents and ReadyMarker over a fixed table: the instance at each caller.
type fakeGuests struct {
	at map[Caller]string // caller → instance id

	mu     sync.Mutex
	served []Caller
	ready  []string // instance ids marked ready, in order
}

func (f *fakeGuests) Serve(ctx context.Context, c Caller, path string) ([]byte, string, error) {
	f.mu.Lock()
	f.served = append(f.served, c)
	f.mu.Unlock()
	id, ok := f.at[c]
	if !ok {
		return nil, "", fault.New(fault.NotFound, "no instance at %s on %s", c.Addr, c.NetworkID)
	}
	NoteInstance(ctx, id)
	switch path {
	case "/latest/meta-data/instance-id":
		return []byte(id), "", nil
	case "/latest/user-data":
		return []byte("#!/bin/sh\necho secret-canary-" + id + "\n"), "application/octet-stream", nil
	}
	return nil, "", fault.New(fault.NotFound, "no document %s", path)
}

func (f *fakeGuests) MarkReady(_ context.Context, c Caller) error {
	id, ok := f.at[c]
	if !ok {
		return fault.New(fault.NotFound, "no instance at %s", c.Addr)
	}
	f.mu.Lock()
	f.ready = append(f.ready, id)
	f.mu.Unlock()
	return nil
}

func (f *fakeGuests) marked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ready...)
}

var loopback = netip.MustParseAddr("127.0.0.1")

// serve starts a metadata server on a loopback listener for networkID and returns its base URL.
func serve(t *testing.T, s *Server, networkID string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := s.ServeMetadata(networkID, ln)
	t.Cleanup(stop)
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The caller is the listener's network and the TCP peer address: a guest on another network, or one
// that names another instance in its headers, gets 404 and nothing of anyone's data.
func TestMetadataAnswersTheCallerTheListenerRecorded(t *testing.T) {
	guests := &fakeGuests{at: map[Caller]string{{NetworkID: "net-a", Addr: loopback}: "inst-a"}}
	s := NewServer(ServerOptions{})
	defer s.Close()
	if err := s.Start(guests, guests); err != nil {
		t.Fatal(err)
	}
	onA, onB := serve(t, s, "net-a"), serve(t, s, "net-b")
	spoof := http.Header{"X-Forwarded-For": {"10.0.0.9"}, "X-Instance-Id": {"inst-a"}}

	if code, body := get(t, onA+"/latest/meta-data/instance-id", nil); code != 200 || body != "inst-a" {
		t.Errorf("own instance on net-a: %d %q, want 200 inst-a", code, body)
	}
	if code, body := get(t, onB+"/latest/meta-data/instance-id", spoof); code != 404 || body != "Not Found\n" {
		t.Errorf("same address on net-b with spoofing headers: %d %q, want 404 and nothing else", code, body)
	}
	if code, _ := get(t, onA+"/latest/meta-data/no-such", nil); code != 404 {
		t.Errorf("unknown path: %d, want 404", code)
	}
	want := []Caller{{"net-a", loopback}, {"net-b", loopback}, {"net-a", loopback}}
	if got := guests.served; !equalCallers(got, want) {
		t.Errorf("documents were asked for %v, want %v", got, want)
	}
}

func equalCallers(a, b []Caller) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A request that did not come through a metadata listener has no caller: 404, and the documents are
// never asked.
func TestMetadataRequestWithoutCallerIsNotFound(t *testing.T) {
	guests := &fakeGuests{at: map[Caller]string{}}
	s := NewServer(ServerOptions{})
	defer s.Close()
	s.Start(guests, guests)
	for _, ctx := range []context.Context{context.Background(), WithCaller(context.Background(), Caller{NetworkID: "net-a"})} {
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/latest/meta-data/instance-id", nil).WithContext(ctx))
		if rec.Code != 404 {
			t.Errorf("no caller: %d, want 404", rec.Code)
		}
	}
	if len(guests.served) != 0 {
		t.Errorf("documents were asked for %v without a caller", guests.served)
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// Each source has its own request budget: one that spends it gets 429 until it refills, while
// another source on the same network is answered as usual.
func TestMetadataRateLimitIsPerSource(t *testing.T) {
	a := Caller{NetworkID: "net-a", Addr: netip.MustParseAddr("10.0.0.5")}
	b := Caller{NetworkID: "net-a", Addr: netip.MustParseAddr("10.0.0.6")}
	guests := &fakeGuests{at: map[Caller]string{a: "inst-a", b: "inst-b"}}
	clock := &fakeClock{t: time.Unix(1000, 0)}
	s := NewServer(ServerOptions{Now: clock.now, Burst: 3, Rate: 1})
	defer s.Close()
	s.Start(guests, guests)
	ask := func(c Caller) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/latest/meta-data/instance-id", nil)
		s.handler.ServeHTTP(rec, req.WithContext(WithCaller(context.Background(), c)))
		return rec.Code
	}
	for i := range 3 {
		if code := ask(a); code != 200 {
			t.Fatalf("request %d of a within its burst: %d", i+1, code)
		}
	}
	if code := ask(a); code != 429 {
		t.Errorf("a past its burst: %d, want 429", code)
	}
	if code := ask(b); code != 200 {
		t.Errorf("b while a is limited: %d, want 200", code)
	}
	clock.t = clock.t.Add(time.Second)
	if code := ask(a); code != 200 {
		t.Errorf("a a second later: %d, want 200", code)
	}
}

// A source holding its share of connections open gets no more (they are closed unanswered), while
// another source still is served.
func TestMetadataConnectionsArePerSource(t *testing.T) {
	other := netip.MustParseAddr("127.0.0.2")
	guests := &fakeGuests{at: map[Caller]string{{NetworkID: "net-a", Addr: other}: "inst-b"}}
	s := NewServer(ServerOptions{MaxConnsPerSource: 2})
	defer s.Close()
	s.Start(guests, guests)
	base := serve(t, s, "net-a")
	addr := strings.TrimPrefix(base, "http://")
	for range 2 { // idle connections: the server waits for their headers
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(third, "GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n")
	// Closed unanswered: EOF, or a reset when the server closed it before reading what was sent.
	if got, err := io.ReadAll(third); len(got) != 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("a third connection from the same source got %q (err %v), want it closed unanswered", got, err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: other.AsSlice()}}).DialContext}}
	resp, err := client.Get(base + "/latest/meta-data/instance-id")
	if err != nil {
		t.Fatalf("another source: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "inst-b" {
		t.Errorf("another source: %d %q, want 200 inst-b", resp.StatusCode, body)
	}
}

// A phone-home marks the caller's own instance, whatever its form or URL names; one from an address
// with no instance is 404; a body over the cap is refused unread and marks nothing.
func TestPhoneHomeMarksOnlyTheCallersInstance(t *testing.T) {
	guests := &fakeGuests{at: map[Caller]string{{NetworkID: "net-a", Addr: loopback}: "inst-a"}}
	s := NewServer(ServerOptions{})
	defer s.Close()
	s.Start(guests, guests)
	onA, onB := serve(t, s, "net-a"), serve(t, s, "net-b")
	post := func(url, body string) int {
		resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(onA+"/cloudlet/ready/inst-b", "instance_id=inst-b&hostname=b"); code != 200 {
		t.Errorf("phone-home naming inst-b from inst-a's address: %d, want 200", code)
	}
	if code := post(onB+"/cloudlet/ready", "instance_id=inst-a"); code != 404 {
		t.Errorf("phone-home from an address with no instance: %d, want 404", code)
	}
	big := "pub_key_rsa=" + strings.Repeat("A", maxReadyBody)
	if code := post(onA+"/cloudlet/ready", big); code != 413 {
		t.Errorf("phone-home with a %d-byte body: %d, want 413", len(big), code)
	}
	if code, _ := get(t, onA+"/cloudlet/ready", nil); code != 405 {
		t.Errorf("GET of the phone-home path: %d, want 405", code)
	}
	if got := guests.marked(); len(got) != 1 || got[0] != "inst-a" {
		t.Errorf("marked ready: %v, want [inst-a] only", got)
	}
}

// Listeners handed over before Start wait, their connections queued, and are answered once it starts;
// stop closes a network's listener.
func TestMetadataListenersWaitForStart(t *testing.T) {
	guests := &fakeGuests{at: map[Caller]string{{NetworkID: "net-a", Addr: loopback}: "inst-a"}}
	s := NewServer(ServerOptions{})
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := s.ServeMetadata("net-a", ln)
	conn, err := net.Dial("tcp", ln.Addr().String()) // accepted by the kernel, not yet by anyone
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n")
	if err := s.Start(guests, guests); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(conn)
	if !bytes.HasSuffix(got, []byte("\r\n\r\ninst-a")) {
		t.Errorf("a request queued before Start got %q, want inst-a", got)
	}
	stop()
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the listener still accepts after stop")
	}
}

// Each answer is logged with its path, status, caller and instance, and never with its body.
func TestMetadataLogNamesTheAnswerNotItsBody(t *testing.T) {
	var logs bytes.Buffer
	guests := &fakeGuests{at: map[Caller]string{{NetworkID: "net-a", Addr: loopback}: "inst-a"}}
	s := NewServer(ServerOptions{Log: slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil))})
	s.Start(guests, guests)
	base := serve(t, s, "net-a")
	if code, body := get(t, base+"/latest/user-data", nil); code != 200 || !strings.Contains(body, "secret-canary-inst-a") {
		t.Fatalf("user-data: %d %q", code, body)
	}
	s.Close()
	if strings.Contains(logs.String(), "secret-canary") {
		t.Errorf("the log holds the user-data:\n%s", logs.String())
	}
	var line struct {
		Msg, Network, Addr, Instance, Path string
		Status                             int
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	want := "metadata request net-a 127.0.0.1 inst-a /latest/user-data 200"
	if got := strings.Join([]string{line.Msg, line.Network, line.Addr, line.Instance, line.Path, fmt.Sprint(line.Status)}, " "); got != want {
		t.Errorf("log line %q, want %q", got, want)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
