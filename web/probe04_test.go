package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Finding 4 of the black-box probe: no read or idle timeouts, bodies read before authentication,
// 21,000 idle slow-body connections took the API down, and every unauthenticated 401 was an fsynced
// audit entry. These tests run the real server on a loopback listener.

// liveServer is a Server answering on a real TCP listener that counts the bytes it read.
type liveServer struct {
	srv   *Server
	addr  string
	read  atomic.Int64 // bytes the server read from all its connections
	admin string       // an admin bearer token
}

// startLive serves a test server with limits on 127.0.0.1; backup, when set, serves GET /api/v1/backup.
func startLive(t *testing.T, limits Limits, backup func(io.Writer) (int64, error)) *liveServer {
	t.Helper()
	db, comp, imgs, vols, nets := testServicesDB(t)
	ids, adminPW := testIdentity(t, db, nil)
	project, err := ids.AdminProjectID()
	if err != nil {
		t.Fatal(err)
	}
	if backup == nil {
		backup = func(io.Writer) (int64, error) { return 0, nil }
	}
	srv, err := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Host: testHostService(),
		Backup: backup, Events: catalogEvents(db), Compute: comp, Images: imgs, Volumes: vols, Networks: nets,
		Identity: ids, DefaultProject: project, LoopbackNeedsToken: true, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ids.Authenticate(context.Background(), "admin", adminPW, "admin", "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls := &liveServer{srv: srv, addr: l.Addr().String(), admin: tok.Secret}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(&countingListener{Listener: l, n: &ls.read}) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ls
}

// dialFrom connects to the server from a local address (127.0.0.1, 127.0.0.2, ...), one source each.
func (ls *liveServer) dialFrom(t *testing.T, source string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", ls.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// countingListener counts the bytes read from every connection it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// roundTrip writes one request on c and reads its answer, waiting at most 10 s.
func roundTrip(c net.Conn, br *bufio.Reader, req string) (*http.Response, error) {
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, err
}

const healthz = "GET /healthz HTTP/1.1\r\nHost: cloudlet\r\n\r\n"

// waitClosed reads c (through r, its buffered reader, when set) until the server closes it, and
// fails if that takes 10 s.
func waitClosed(t *testing.T, c net.Conn, r io.Reader, what string) {
	t.Helper()
	if r == nil {
		r = c
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open for 10 s", what)
	}
}

// TestProbe04UnauthenticatedBodyIsNeverRead: a POST without credentials that declares or streams a
// large body is answered 401 with Connection: close, and the server reads nothing of the body (before
// the fix net/http drained up to 256 KiB of it, waiting as long as the client trickled).
func TestProbe04UnauthenticatedBodyIsNeverRead(t *testing.T) {
	ls := startLive(t, Limits{}, nil)
	chunk := strings.Repeat("x", 32<<10)
	for _, tc := range []struct {
		name  string
		frame string // the body's framing header
		body  func(w io.Writer) error
	}{
		{"declared 100 MB", "Content-Length: 104857600", func(w io.Writer) error { return writeN(w, chunk, 100<<20) }},
		{"declared 200 KB", "Content-Length: 204800", func(w io.Writer) error { return writeN(w, chunk[:20480], 204800) }},
		{"chunked 100 MB", "Transfer-Encoding: chunked", func(w io.Writer) error {
			for range 100 << 20 / len(chunk) {
				if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ls.read.Load()
			c := ls.dialFrom(t, "127.0.0.1")
			head := "POST /api/v1/networks HTTP/1.1\r\nHost: cloudlet\r\nContent-Type: application/json\r\n" + tc.frame + "\r\n\r\n"
			if _, err := io.WriteString(c, head); err != nil {
				t.Fatal(err)
			}
			go tc.body(c) // until the server closes the connection
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
				t.Errorf("answer %d, Connection: close %v; want 401 and close", resp.StatusCode, resp.Close)
			}
			waitClosed(t, c, br, "after a 401")
			if got := ls.read.Load() - before; got > 16<<10 {
				t.Errorf("the server read %d bytes of an unauthenticated request: more than its headers and one buffer", got)
			}
		})
	}
}

// writeN writes s repeatedly until n bytes are written or a write fails.
func writeN(w io.Writer, s string, n int) error {
	for ; n > 0; n -= len(s) {
		if _, err := io.WriteString(w, s[:min(len(s), n)]); err != nil {
			return err
		}
	}
	return nil
}

// TestProbe04SlowBodyIsCut: a body that stalls (10 bytes of a declared 100, then nothing) is cut
// after one rate window, also on the one route that reads a body without credentials (login).
func TestProbe04SlowBodyIsCut(t *testing.T) {
	ls := startLive(t, Limits{MinBodyRate: 1000, RateWindow: time.Second}, nil)
	c := ls.dialFrom(t, "127.0.0.1")
	start := time.Now()
	if _, err := io.WriteString(c, "POST /api/v1/auth/tokens HTTP/1.1\r\nHost: cloudlet\r\nContent-Length: 100\r\n\r\n{\"username\""); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c, nil, "a stalled body")
	t.Logf("stalled body cut after %v", time.Since(start))
}

// TestProbe04SteadyBodyIsNotCut: a body that keeps arriving above the minimum rate goes through
// whole, however many windows it spans (uploads at normal speed stay possible).
func TestProbe04SteadyBodyIsNotCut(t *testing.T) {
	ls := startLive(t, Limits{MinBodyRate: 1000, RateWindow: 2 * time.Second}, nil)
	c := ls.dialFrom(t, "127.0.0.1")
	const pieces = 60 // 4 KiB every 50 ms: about 80 KB/s for 3 s, more than a window
	body := `{"username":"nobody","password":"` + strings.Repeat("p", pieces*4096) + `","project":"admin"}`
	fmt.Fprintf(c, "POST /api/v1/auth/tokens HTTP/1.1\r\nHost: cloudlet\r\nContent-Length: %d\r\n\r\n", len(body))
	for i := 0; i < len(body); i += 4096 {
		if _, err := io.WriteString(c, body[i:min(i+4096, len(body))]); err != nil {
			t.Fatalf("write piece %d: %v", i/4096, err)
		}
		time.Sleep(50 * time.Millisecond) // paces the client; orders nothing
	}
	resp, err := roundTrip(c, bufio.NewReader(c), "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("login with a steady body = %d, want 401 (the body read whole, the password wrong)", resp.StatusCode)
	}
}

// TestProbe04IdleConnectionsAreClosed: a connection that never sends its headers, and a keep-alive
// connection that never sends its next request, are closed by the server.
func TestProbe04IdleConnectionsAreClosed(t *testing.T) {
	ls := startLive(t, Limits{HeaderTimeout: time.Second, IdleTimeout: time.Second}, nil)
	waitClosed(t, ls.dialFrom(t, "127.0.0.1"), nil, "a connection without headers")

	c := ls.dialFrom(t, "127.0.0.1")
	br := bufio.NewReader(c)
	if resp, err := roundTrip(c, br, healthz); err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("healthz = %v, %v; want a 200 that keeps the connection", resp, err)
	}
	waitClosed(t, c, br, "an idle keep-alive connection")
}

// TestProbe04StalledReaderIsCut: a client that asks for a large response and stops reading is cut
// after one write timeout, while a download that keeps moving outlives that timeout many times.
func TestProbe04StalledReaderIsCut(t *testing.T) {
	served := make(chan error, 2)
	var paced atomic.Bool
	ls := startLive(t, Limits{WriteTimeout: 500 * time.Millisecond}, func(w io.Writer) (int64, error) {
		chunk, total := make([]byte, 1<<20), int64(0)
		for i := 0; !paced.Load() || i < 8; i++ {
			if paced.Load() {
				chunk = chunk[:64<<10]
			}
			n, err := w.Write(chunk)
			if total += int64(n); err != nil {
				served <- err
				return total, err
			}
			if paced.Load() {
				time.Sleep(150 * time.Millisecond) // a slow source: 512 KiB over 1.2 s
			}
		}
		served <- nil
		return total, nil
	})
	get := "GET /api/v1/backup HTTP/1.1\r\nHost: cloudlet\r\nAuthorization: Bearer " + ls.admin + "\r\n\r\n"

	stalled := ls.dialFrom(t, "127.0.0.1")
	if _, err := io.WriteString(stalled, get); err != nil {
		t.Fatal(err)
	}
	select { // the client reads nothing
	case err := <-served:
		if err == nil {
			t.Fatal("an endless backup finished")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a client that reads nothing held the download for 10 s")
	}

	paced.Store(true)
	c := ls.dialFrom(t, "127.0.0.2")
	resp, err := roundTrip(c, bufio.NewReader(c), get)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("paced download = %v, %v", resp, err)
	}
	if err := <-served; err != nil {
		t.Errorf("a download that keeps moving was cut: %v", err)
	}
}

// TestProbe04ConnectionsPerSourceAreCapped: past its cap, a source's new connections are closed as
// they are accepted; another source is still served, and a closed connection frees its place.
func TestProbe04ConnectionsPerSourceAreCapped(t *testing.T) {
	ls := startLive(t, Limits{MaxConnsPerSource: 3, MaxConns: 5}, nil)
	served := func(source string) (net.Conn, bool) {
		c := ls.dialFrom(t, source)
		resp, err := roundTrip(c, bufio.NewReader(c), healthz)
		return c, err == nil && resp.StatusCode == 200
	}
	var held []net.Conn
	for i := range 3 {
		c, ok := served("127.0.0.1")
		if !ok {
			t.Fatalf("connection %d of 3 from 127.0.0.1 refused", i+1)
		}
		held = append(held, c)
	}
	if _, ok := served("127.0.0.1"); ok {
		t.Error("a 4th connection from 127.0.0.1 was served past the cap of 3")
	}
	for _, source := range []string{"127.0.0.2", "127.0.0.2"} {
		if _, ok := served(source); !ok {
			t.Errorf("%s refused while 127.0.0.1 is at its cap", source)
		}
	}
	if _, ok := served("127.0.0.3"); ok {
		t.Error("a 6th connection was served past the total cap of 5")
	}
	held[0].Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, ok := served("127.0.0.1"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection never freed its place")
		}
	}
}

// TestProbe04RefusedConnectionsLogOncePerMinute: a flood of refused connections tells the log how
// many, once a minute, instead of a line each.
func TestProbe04RefusedConnectionsLogOncePerMinute(t *testing.T) {
	var log syncLog
	now := time.Unix(1000, 0)
	l := newConnLimiter(nil, 1, 10, slog.New(slog.NewTextHandler(&log, nil)), func() time.Time { return now })
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if !l.Admit(a) {
		t.Fatal("the first connection was refused")
	}
	for range 1000 {
		l.Admit(b)
	}
	now = now.Add(time.Minute)
	l.Admit(b)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "refused=1000") {
		t.Errorf("log after 1,001 refusals over a minute:\n%s\nwant 2 lines, the second counting 1000", log.String())
	}
}

// TestProbe04AnswerToAnUnreadUploadReachesTheClient: an authorized upload that its handler refuses
// without reading the chunked body (an unknown image here, a quota cut in real life) is answered, and
// a client that reads the answer only after it has sent more of the body still finds it, rather than
// a connection reset: the server half-closes and lingers instead of closing on unread bytes.
func TestProbe04AnswerToAnUnreadUploadReachesTheClient(t *testing.T) {
	ls := startLive(t, Limits{}, nil)
	c := ls.dialFrom(t, "127.0.0.1")
	fmt.Fprintf(c, "PUT /api/v1/images/no-such-image/file HTTP/1.1\r\nHost: cloudlet\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n", ls.admin)
	chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, bytes.Repeat([]byte("x"), 64<<10))
	_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	for range 16 { // 1 MiB the server does not want; it may stop reading, so the writes may stall
		if _, err := io.WriteString(c, chunk); err != nil {
			break
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read the answer after sending more of the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("upload to an unknown image = %d, want 404", resp.StatusCode)
	}
}
