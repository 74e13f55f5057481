package web

import (
	"context"
	"io"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
)

const vncPath = "/api/v1/instances/:id/vnc"

// maxClientMessage caps one websocket message from a console client. RFB's client messages are a
// few bytes, but for ClientCutText (a paste).
const maxClientMessage = 1 << 20

// Keepalive of a console websocket: a ping every vncPingEvery; no pong within vncPongWithin ends it.
const (
	vncPingEvery  = 25 * time.Second
	vncPongWithin = 15 * time.Second
)

// vnc serves GET /api/v1/instances/{id}/vnc: a websocket (subprotocol "binary", which noVNC and
// websockify use; a client offering none is served too) whose binary messages carry RFB byte for byte
// to and from QEMU's VNC server. Browsers come with a ticket; a foreign Origin is refused (403).
func (s *Server) vnc(c echo.Context) error {
	conn, id, err := s.consoles.backend.DialVNC(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	release, err := s.consoles.sessions.acquire(id, s.consoles.opts.MaxVNCPerInstance)
	if err != nil {
		conn.Close()
		return err
	}
	defer release()
	ws, err := websocket.Accept(c.Response(), c.Request(), &websocket.AcceptOptions{
		Subprotocols: []string{"binary"}, OriginPatterns: s.consoles.opts.AllowedOrigins})
	if err != nil {
		conn.Close()
		return nil // Accept has answered (400 not a websocket, 403 foreign Origin)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Request().Context()))
	defer cancel()
	defer s.consoles.sessions.track(cancel)()
	proxyRFB(ctx, ws, conn, s.limits.WriteTimeout)
	return nil
}

// proxyRFB copies bytes both ways between a websocket and QEMU until either side ends, a write
// stalls past writeTimeout, a ping goes unanswered or ctx ends; then it closes both and returns
// once every goroutine it started has. Bytes stream through io.Copy's buffer, never whole messages;
// a client message over maxClientMessage (a megabytes paste) ends the session.
func proxyRFB(ctx context.Context, ws *websocket.Conn, vnc net.Conn, writeTimeout time.Duration) {
	ctx, cancel := context.WithCancel(ctx)
	nc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	ws.SetReadLimit(maxClientMessage) // after NetConn, which lifts the limit
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); defer cancel(); f() }()
	}
	run(func() { _, _ = io.Copy(deadlineWriter{nc, writeTimeout}, vnc) }) // screen → client
	run(func() { _, _ = io.Copy(deadlineWriter{vnc, writeTimeout}, nc) }) // keys, pointer → QEMU
	run(func() { keepalive(ctx, ws) })
	<-ctx.Done()
	vnc.Close()
	ws.CloseNow()
	wg.Wait()
}

// keepalive pings the client until ctx ends or a pong does not come.
func keepalive(ctx context.Context, ws *websocket.Conn) {
	tick := time.NewTicker(vncPingEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, vncPongWithin)
		err := ws.Ping(pctx)
		cancel()
		if err != nil {
			return
		}
	}
}

// deadlineWriter gives each write timeout to complete: a peer that stops reading is cut.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	_ = w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.c.Write(p)
}

// sessions counts open console sessions per instance and can end them all (at shutdown: net/http
// does not track hijacked connections).
type sessions struct {
	mu     sync.Mutex
	open   map[string]int
	ends   map[*context.CancelFunc]struct{}
	closed bool
}

func newSessions() *sessions {
	return &sessions{open: map[string]int{}, ends: map[*context.CancelFunc]struct{}{}}
}

// acquire takes one of instance id's limit session slots; release gives it back.
func (ss *sessions) acquire(id string, limit int) (release func(), err error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return nil, fault.New(fault.Unavailable, "the server is shutting down")
	}
	if ss.open[id] >= limit {
		return nil, &retryError{Err: fault.New(fault.TooManyRequests,
			"instance has %d graphical console sessions open, the most allowed: close one first", limit), After: time.Second}
	}
	ss.open[id]++
	return func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if ss.open[id]--; ss.open[id] == 0 {
			delete(ss.open, id)
		}
	}, nil
}

// track registers end to be called by closeAll; untrack forgets it.
func (ss *sessions) track(end context.CancelFunc) (untrack func()) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		end()
		return func() {}
	}
	key := &end
	ss.ends[key] = struct{}{}
	return func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		delete(ss.ends, key)
	}
}

// closeAll ends every session and refuses new ones.
func (ss *sessions) closeAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	for end := range ss.ends {
		(*end)()
	}
}

// count is how many sessions are open on instance id, for tests.
func (ss *sessions) count(id string) int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.open[id]
}
