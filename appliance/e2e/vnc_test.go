package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"cloudlet/appliance/compute"
	"cloudlet/web"
)

// ticket asks for a console ticket of kind over TCP with the admin's token.
func (c *Cloud) ticket(id, kind string) web.ConsoleTicket {
	c.T.Helper()
	var tk web.ConsoleTicket
	code, body := c.tcp("POST", "/api/v1/instances/"+id+"/console-tickets", fmt.Sprintf(`{"kind":%q}`, kind), true)
	if code != http.StatusCreated || json.Unmarshal(body, &tk) != nil || tk.Ticket == "" {
		c.T.Fatalf("console ticket for %s = %d %s", id, code, body)
	}
	return tk
}

// tcp sends a request to the daemon's TCP listener, with the admin's token when auth is set.
func (c *Cloud) tcp(method, path, body string, auth bool) (int, []byte) {
	c.T.Helper()
	req, err := http.NewRequest(method, "http://"+c.D.Listen+path, strings.NewReader(body))
	if err != nil {
		c.T.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.Token())
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, out
}

// openVNC opens the graphical console websocket at a ticket's URL, as a browser would (no token).
func (c *Cloud) openVNC(url string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws://"+c.D.Listen+url, &websocket.DialOptions{Subprotocols: []string{"binary"}})
}

// rfbHandshake speaks RFB 3.8 over rw as a viewer: version, security type None, ClientInit, and
// returns ServerInit's framebuffer size; then asks for the whole screen once and checks that a
// FramebufferUpdate with a rectangle of it comes back.
func rfbHandshake(t *testing.T, rw io.ReadWriter) (width, height int) {
	t.Helper()
	read := func(n int) []byte {
		b := make([]byte, n)
		if _, err := io.ReadFull(rw, b); err != nil {
			t.Fatalf("rfb: read %d bytes: %v", n, err)
		}
		return b
	}
	write := func(b []byte) {
		if _, err := rw.Write(b); err != nil {
			t.Fatalf("rfb: write: %v", err)
		}
	}
	if v := string(read(12)); v != "RFB 003.008\n" {
		t.Fatalf("ProtocolVersion %q, want RFB 003.008", v)
	}
	write([]byte("RFB 003.008\n"))
	types := read(int(read(1)[0]))
	if !bytes.Contains(types, []byte{1}) {
		t.Fatalf("security types %v do not offer None (1)", types)
	}
	write([]byte{1})
	if r := binary.BigEndian.Uint32(read(4)); r != 0 {
		t.Fatalf("SecurityResult %d, want 0 (ok)", r)
	}
	write([]byte{1}) // ClientInit: shared
	init := read(2 + 2 + 16 + 4)
	width, height = int(binary.BigEndian.Uint16(init[0:])), int(binary.BigEndian.Uint16(init[2:]))
	read(int(binary.BigEndian.Uint32(init[20:]))) // the desktop name
	req := []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}   // FramebufferUpdateRequest, not incremental, the whole screen
	binary.BigEndian.PutUint16(req[6:], uint16(width))
	binary.BigEndian.PutUint16(req[8:], uint16(height))
	write(req)
	update := read(4)
	if update[0] != 0 || binary.BigEndian.Uint16(update[2:]) == 0 {
		t.Fatalf("answer to FramebufferUpdateRequest %v, want a FramebufferUpdate (type 0) with rectangles", update)
	}
	rect := read(12)
	x, y := binary.BigEndian.Uint16(rect[0:]), binary.BigEndian.Uint16(rect[2:])
	w, h := binary.BigEndian.Uint16(rect[4:]), binary.BigEndian.Uint16(rect[6:])
	if int(x)+int(w) > width || int(y)+int(h) > height || w == 0 || h == 0 {
		t.Errorf("first rectangle %dx%d at %d,%d is not inside the %dx%d screen", w, h, x, y, width, height)
	}
	return width, height
}

// TestVNCThroughTheWebsocketWithAOneTimeTicket: a browser's path to the screen of a running guest.
// A ticket opens the RFB proxy once: the handshake reaches QEMU's VNC server (version, security
// None, ServerInit with the framebuffer size, a FramebufferUpdate); the same ticket is refused the
// second time; a screenshot is a PNG of the framebuffer's size.
func TestVNCThroughTheWebsocketWithAOneTimeTicket(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("screen", kernelImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)

	tk := c.ticket(id, "vnc")
	ws, resp, err := c.openVNC(tk.URL)
	if err != nil {
		t.Fatalf("open the console with a ticket: %v (%v)", err, resp)
	}
	defer ws.CloseNow()
	if ws.Subprotocol() != "binary" {
		t.Errorf("subprotocol %q, want binary", ws.Subprotocol())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	width, height := rfbHandshake(t, websocket.NetConn(ctx, ws, websocket.MessageBinary))
	t.Logf("framebuffer %dx%d", width, height)

	if _, resp, err := c.openVNC(tk.URL); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the same ticket again: %v (%v), want 401", err, resp)
	}
	if _, resp, err := c.openVNC("/api/v1/instances/" + id + "/vnc"); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no ticket, no token: %v (%v), want 401", err, resp)
	}

	code, shot := c.tcp("GET", "/api/v1/instances/"+id+"/screenshot", "", true)
	if code != http.StatusOK {
		t.Fatalf("screenshot = %d %s", code, shot)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if cfg.Width != width || cfg.Height != height {
		t.Errorf("screenshot %dx%d, framebuffer %dx%d", cfg.Width, cfg.Height, width, height)
	}
	if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
		t.Errorf("screenshot does not decode: %v", err)
	}
}

// TestConsoleTicketExpires: with console_ticket_ttl at 1 ms, a ticket presented after its
// expires_at is refused like a reused one (401), before the proxy dials anything.
func TestConsoleTicketExpires(t *testing.T) {
	c := newCloud(t, `{"console_ticket_ttl":"1ms"}`)
	id := c.Create("expiring", kernelImage, nil).ID
	tk := c.ticket(id, "vnc")
	time.Sleep(time.Until(tk.ExpiresAt) + time.Millisecond) // a wall-clock expiry, not an ordering of events
	_, resp, err := c.openVNC(tk.URL)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an expired ticket: %v (%v), want 401", err, resp)
	}
}
