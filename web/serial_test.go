package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
)

// fakeViewer is a viewer whose output the test feeds and whose typed input it reads.
type fakeViewer struct {
	keyboard bool
	out      chan []byte
	end      chan error // what Next returns once out is empty
	typed    chan []byte
	closed   chan struct{}
	once     sync.Once
}

func newFakeViewer(keyboard bool) *fakeViewer {
	return &fakeViewer{keyboard: keyboard, out: make(chan []byte, 8), end: make(chan error, 1),
		typed: make(chan []byte, 64), closed: make(chan struct{})}
}

func (f *fakeViewer) Keyboard() bool { return f.keyboard }
func (f *fakeViewer) Close()         { f.once.Do(func() { close(f.closed) }) }
func (f *fakeViewer) Next(ctx context.Context) ([]byte, error) {
	select {
	case p := <-f.out:
		return p, nil
	case err := <-f.end:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
func (f *fakeViewer) Write(ctx context.Context, p []byte) error {
	select {
	case f.typed <- append([]byte(nil), p...):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// serialServer serves v on a test server; done is closed when its handler has returned.
func serialServer(t *testing.T, v *fakeViewer) (url string, done chan struct{}) {
	t.Helper()
	done = make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		defer v.Close()
		serveSerial(w, r, v, nil)
	}))
	t.Cleanup(srv.Close)
	return wsURL(srv.URL), done
}

func TestTheSerialWebsocketCarriesBytesBothWaysAndSaysWhoHasTheKeyboard(t *testing.T) {
	v := newFakeViewer(true)
	url, _ := serialServer(t, v)
	ctx := consoleContext(t)
	ws, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if got := resp.Header.Get(SerialModeHeader); got != "keyboard" {
		t.Errorf("%s: got %q, want keyboard", SerialModeHeader, got)
	}
	v.out <- []byte("login: ")
	if typ, p, err := ws.Read(ctx); err != nil || typ != websocket.MessageBinary || string(p) != "login: " {
		t.Fatalf("guest output: %v %q %v", typ, p, err)
	}
	for _, typ := range []websocket.MessageType{websocket.MessageText, websocket.MessageBinary} { // xterm.js sends text
		if err := ws.Write(ctx, typ, []byte("root\r")); err != nil {
			t.Fatal(err)
		}
		if got := string(<-v.typed); got != "root\r" {
			t.Errorf("typed in a %v message: got %q", typ, got)
		}
	}
}

func TestASerialViewerDroppedForFallingBehindIsToldWhyInTheCloseReason(t *testing.T) {
	v := newFakeViewer(false)
	url, _ := serialServer(t, v)
	ctx := consoleContext(t)
	ws, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if got := resp.Header.Get(SerialModeHeader); got != "view" {
		t.Errorf("%s: got %q, want view", SerialModeHeader, got)
	}
	v.end <- compute.ErrSerialTooSlow
	_, _, err = ws.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusTryAgainLater || ce.Reason != compute.ErrSerialTooSlow.Error() {
		t.Fatalf("got %v, want close %v %q", err, websocket.StatusTryAgainLater, compute.ErrSerialTooSlow)
	}
}

func TestASerialClientThatDisconnectsMidFrameLeavesNoGoroutineOrFd(t *testing.T) {
	v := newFakeViewer(true)
	url, done := serialServer(t, v)
	ctx := consoleContext(t)
	// A first connection warms up the server and the client transport's goroutines.
	var raw net.Conn
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, n, a)
		raw = c
		return c, err
	}}}
	before := takeBaseline(t)
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	// A masked binary frame announcing 1000 bytes, of which 10 come; then the client is gone.
	frame := append([]byte{0x82, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4}, make([]byte, 10)...)
	if _, err := raw.Write(frame); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the console handler is still running after its client left")
	}
	ws.CloseNow()
	client.CloseIdleConnections()
	<-v.closed
	before.waitBack(t)
}

func TestSerialModesFollowTheCallersRole(t *testing.T) {
	for _, tc := range []struct {
		asked   string
		mayType bool
		want    compute.SerialMode
		kind    fault.Kind
	}{
		{"", true, compute.SerialAuto, ""},
		{"keyboard", true, compute.SerialKeyboard, ""},
		{"view", true, compute.SerialView, ""},
		{"", false, compute.SerialView, ""},
		{"view", false, compute.SerialView, ""},
		{"keyboard", false, "", fault.Forbidden},
		{"admin", true, "", fault.Invalid},
	} {
		got, err := serialMode(tc.asked, tc.mayType)
		if got != tc.want || (err != nil || tc.kind != "") && fault.KindOf(err) != tc.kind {
			t.Errorf("serialMode(%q, mayType %v) = %q, %v; want %q, kind %q", tc.asked, tc.mayType, got, err, tc.want, tc.kind)
		}
	}
}
