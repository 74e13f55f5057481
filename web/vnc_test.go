package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"cloudlet/appliance/fault"
)

// fakeScreens is the console backend: instances vm1, vm2 in project pa, vmb in pb. DialVNC hands
// the server one end of a unix socket pair and the test (playing QEMU) the other, on qemu.
type fakeScreens struct {
	t        *testing.T
	projects map[string]string // instance ID → project name
	qemu     chan net.Conn
	shots    int
}

func (f *fakeScreens) InstanceID(_ context.Context, projectID, ref string) (string, error) {
	id := strings.TrimPrefix(ref, "id-")
	if p, ok := f.projects[id]; !ok || p != projectID {
		return "", fault.New(fault.NotFound, "instance %s not found", ref)
	}
	return "id-" + id, nil
}

func (f *fakeScreens) DialVNC(ctx context.Context, projectID, ref string) (net.Conn, string, error) {
	id, err := f.InstanceID(ctx, projectID, ref)
	if err != nil {
		return nil, "", err
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, "", err
	}
	ends := make([]net.Conn, 2)
	for i, fd := range fds {
		file := os.NewFile(uintptr(fd), "vnc")
		ends[i], err = net.FileConn(file)
		file.Close()
		if err != nil {
			f.t.Fatal(err)
		}
	}
	f.qemu <- ends[1]
	return ends[0], id, nil
}

func (f *fakeScreens) Screenshot(ctx context.Context, projectID, ref string) ([]byte, error) {
	f.shots++
	return []byte("\x89PNG fake"), nil
}

// consoleFixture is authFixture's server with fake screens, served over real HTTP (websockets
// need a connection to hijack) on loopback, which is not trusted.
type consoleFixture struct {
	*authFixture
	screens *fakeScreens
	http    *httptest.Server
}

func newConsoleFixture(t *testing.T, co ConsoleOptions) *consoleFixture {
	t.Helper()
	f := newAuthFixture(t)
	projects := map[string]string{}
	for name, project := range map[string]string{"vm1": "pa", "vm2": "pa", "vmb": "pb"} {
		p, err := f.ids.Project(context.Background(), project)
		if err != nil {
			t.Fatal(err)
		}
		projects[name] = p.ID
	}
	screens := &fakeScreens{t: t, projects: projects, qemu: make(chan net.Conn, 16)}
	o := f.srv.opts
	o.Consoles, o.Console, o.Clock = screens, co, f.clock.Now
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &consoleFixture{authFixture: f, screens: screens, http: hs}
}

// ticket asks for a console ticket as who; it fails the test unless the answer is want.
func (f *consoleFixture) ticket(who, instance, kind string, want int) ConsoleTicket {
	f.t.Helper()
	rec := f.do("POST", "/api/v1/instances/"+instance+"/console-tickets", f.tokens[who], fmt.Sprintf(`{"kind":%q}`, kind))
	if rec.Code != want {
		f.t.Fatalf("%s: ticket for the %s console of %s = %d %s, want %d", who, kind, instance, rec.Code, rec.Body, want)
	}
	var tk ConsoleTicket
	_ = json.Unmarshal(rec.Body.Bytes(), &tk)
	return tk
}

// dial opens a console websocket at path (with its query); headers are name, value pairs.
func (f *consoleFixture) dial(path string, headers ...string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, wsURL(f.http.URL)+path,
		&websocket.DialOptions{Subprotocols: []string{"binary"}, HTTPHeader: h})
}

// refused dials path and wants the upgrade refused with status want.
func (f *consoleFixture) refused(what, path string, want int, headers ...string) {
	f.t.Helper()
	ws, resp, err := f.dial(path, headers...)
	if err == nil {
		ws.CloseNow()
		f.t.Errorf("%s: the websocket opened, want %d", what, want)
		return
	}
	if resp == nil || resp.StatusCode != want {
		f.t.Errorf("%s: %v (response %v), want %d", what, err, resp, want)
	}
}

func TestVNCTicketOpensTheScreenOnceForItsUserInstanceAndKind(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{})
	tk := f.ticket("member", "vm1", ConsoleVNC, 201)
	if !strings.HasPrefix(tk.URL, "/api/v1/instances/id-vm1/vnc?ticket=") || !strings.HasSuffix(tk.URL, tk.Ticket) {
		t.Fatalf("ticket URL %q", tk.URL)
	}
	ws, resp, err := f.dial(tk.URL)
	if err != nil {
		t.Fatalf("open with the ticket: %v (%v)", err, resp)
	}
	defer ws.CloseNow()
	if ws.Subprotocol() != "binary" {
		t.Errorf("subprotocol %q, want binary", ws.Subprotocol())
	}
	qemu := <-f.screens.qemu
	defer qemu.Close()
	rfbBothWays(t, ws, qemu)

	f.refused("the same ticket again", tk.URL, 401)
	f.refused("no ticket, no token", "/api/v1/instances/vm1/vnc", 401)
	f.refused("a made-up ticket", "/api/v1/instances/vm1/vnc?ticket=AAAA", 401)
	f.refused("a serial ticket", "/api/v1/instances/vm1/vnc?ticket="+f.ticket("member", "vm1", ConsoleSerial, 201).Ticket, 403)
	f.refused("vm1's ticket on vm2", "/api/v1/instances/vm2/vnc?ticket="+f.ticket("member", "vm1", ConsoleVNC, 201).Ticket, 403)
	f.refused("another user's token with the ticket", f.ticket("member", "vm1", ConsoleVNC, 201).URL, 403,
		"Authorization", "Bearer "+f.tokens["reader"])
	f.refused("a page of another site", f.ticket("member", "vm1", ConsoleVNC, 201).URL, 403, "Origin", "https://evil.example")
	expired := f.ticket("member", "vm1", ConsoleVNC, 201)
	f.clock.Set(f.clock.Now().Add(DefaultConsoleTicketTTL))
	f.refused("an expired ticket", expired.URL, 401)

	ws2, _, err := f.dial("/api/v1/instances/vm1/vnc?ticket="+f.ticket("member", "vm1", ConsoleVNC, 201).Ticket,
		"Origin", f.http.URL)
	if err != nil {
		t.Fatalf("by name, from the server's own page: %v", err)
	}
	ws2.CloseNow()
	(<-f.screens.qemu).Close()
	if strings.Contains(f.log.String(), tk.Ticket) || strings.Contains(f.log.String(), "ticket=") {
		t.Errorf("the log holds a ticket:\n%s", f.log)
	}
}

// rfbBothWays sends QEMU's greeting to the client and the client's answer to QEMU.
func rfbBothWays(t *testing.T, ws *websocket.Conn, qemu net.Conn) {
	t.Helper()
	ctx := consoleContext(t)
	if _, err := qemu.Write([]byte("RFB 003.008\n")); err != nil {
		t.Fatal(err)
	}
	typ, got, err := ws.Read(ctx)
	if err != nil || typ != websocket.MessageBinary || string(got) != "RFB 003.008\n" {
		t.Fatalf("client read %v %q %v, want a binary RFB greeting", typ, got, err)
	}
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("RFB 003.008\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 12)
	_ = qemu.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(qemu, buf); err != nil || string(buf) != "RFB 003.008\n" {
		t.Fatalf("qemu read %q %v", buf, err)
	}
}

func TestVNCTicketsFollowThePolicy(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{})
	f.ticket("reader", "vm1", ConsoleVNC, 403) // no view-only RFB: a reader's keyboard would be a write
	f.ticket("reader", "vm1", ConsoleSerial, 201)
	f.ticket("memberb", "vm1", ConsoleVNC, 404)
	f.ticket("member", "vm1", "spice", 400)
	f.ticket("member", "nothing", ConsoleVNC, 404)
}

func TestVNCSessionsPerInstanceAreCapped(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{MaxVNCPerInstance: 1})
	ws, _, err := f.dial(f.ticket("member", "vm1", ConsoleVNC, 201).URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	defer (<-f.screens.qemu).Close()
	_, resp, err := f.dial(f.ticket("member", "vm1", ConsoleVNC, 201).URL)
	if err == nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a second session: %v %v, want 429 with Retry-After", err, resp)
	}
	(<-f.screens.qemu).Close()
	other, _, err := f.dial(f.ticket("member", "vm2", ConsoleVNC, 201).URL)
	if err != nil {
		t.Fatalf("another instance's session: %v", err)
	}
	other.CloseNow()
	(<-f.screens.qemu).Close()
}

// A client that goes away in the middle of a frame while QEMU floods it: the proxy closes QEMU's
// connection, frees the session and leaves no goroutine or descriptor behind.
func TestVNCClientThatDisconnectsMidFrameLeavesNothingBehind(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{})
	tk := f.ticket("member", "vm1", ConsoleVNC, 201)
	before := takeBaseline(t)
	ws, _, err := f.dial(tk.URL)
	if err != nil {
		t.Fatal(err)
	}
	qemu := <-f.screens.qemu
	flooded := make(chan error, 1)
	go func() {
		frame := bytes.Repeat([]byte{0xAB}, 1<<16)
		for {
			if _, err := qemu.Write(frame); err != nil {
				flooded <- err
				return
			}
		}
	}()
	ctx := consoleContext(t)
	_, r, err := ws.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 100)); err != nil { // part of one frame
		t.Fatal(err)
	}
	ws.CloseNow()
	select {
	case <-flooded: // the proxy closed QEMU's end
	case <-ctx.Done():
		t.Fatal("QEMU's connection stayed open after the client left")
	}
	qemu.Close()
	waitUntil(t, "the session to end", func() bool { return f.srv.consoles.sessions.count("id-vm1") == 0 })
	before.waitBack(t)
}

func TestVNCSessionsEndAtShutdown(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{})
	ws, _, err := f.dial(f.ticket("member", "vm1", ConsoleVNC, 201).URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	qemu := <-f.screens.qemu
	defer qemu.Close()
	if err := f.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = qemu.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := qemu.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("QEMU's end after shutdown: %v, want EOF", err)
	}
}

func TestScreenshotStormIs429WithRetryAfter(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{ScreenshotBurst: 2, ScreenshotInterval: 2 * time.Second})
	get := func() *httptest.ResponseRecorder {
		return f.do("GET", "/api/v1/instances/vm1/screenshot", f.tokens["member"], "")
	}
	for i := range 2 {
		if rec := get(); rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" {
			t.Fatalf("screenshot %d = %d %s", i, rec.Code, rec.Header())
		}
	}
	rec := get()
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("third screenshot = %d (Retry-After %q), want 429 after 2", rec.Code, rec.Header().Get("Retry-After"))
	}
	if f.screens.shots != 2 {
		t.Errorf("QEMU was asked for %d screenshots, want 2", f.screens.shots)
	}
	if rec := f.do("GET", "/api/v1/instances/vm2/screenshot", f.tokens["member"], ""); rec.Code != 200 {
		t.Errorf("another instance's screenshot = %d, want 200", rec.Code)
	}
	f.clock.Set(f.clock.Now().Add(2 * time.Second))
	if rec := get(); rec.Code != 200 {
		t.Errorf("after the interval = %d, want 200", rec.Code)
	}
}

// A paste of megabytes is one client message past maxClientMessage: the session ends, the bytes
// are not forwarded, and nothing buffers them.
func TestVNCMegabytePasteEndsTheSession(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{})
	ws, _, err := f.dial(f.ticket("member", "vm1", ConsoleVNC, 201).URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	qemu := <-f.screens.qemu
	defer qemu.Close()
	ctx := consoleContext(t)
	_ = ws.Write(ctx, websocket.MessageBinary, make([]byte, 2*maxClientMessage))
	_ = qemu.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, qemu)
	if err != nil || n >= 2*maxClientMessage {
		t.Errorf("QEMU got %d bytes of the paste, then %v; want the session closed (EOF) before all of it", n, err)
	}
}
