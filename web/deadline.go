package web

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
)

// aLongTimeAgo is a read deadline that makes every further read fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// unreadBodyGrace bounds how long net/http may read what is left of a body an authorized handler
// did not read. With a deadline in the past, net/http would find no early close of a chunked body
// and close the connection at once: the unread bytes make the kernel send a reset, which discards
// the answer (a 409 "quota exceeded") before the client reads it.
const unreadBodyGrace = 2 * time.Second

// guardTransfer wraps h so a request's body and response must keep moving: the body at
// Limits.MinBodyRate per Limits.RateWindow, each response write within Limits.WriteTimeout. Whole
// transfers have no time limit, so long uploads and downloads at normal speed go through; stalls are
// cut. A refused request's body is never read (closeUnread). A body an authorized handler left
// unread (an upload cut at its quota) gets unreadBodyGrace: net/http then reads at most 256 KiB more
// of it and half-closes before closing, so the client reads the answer instead of a reset.
func (s *Server) guardTransfer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		pw := &progressWriter{ResponseWriter: w, rc: rc, timeout: s.limits.WriteTimeout, now: s.now}
		var body *minRateBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &minRateBody{r: r.Body, rc: rc, now: s.now, window: s.limits.RateWindow,
				need: int64(float64(s.limits.MinBodyRate) * s.limits.RateWindow.Seconds())}
			body.start()
			r.Body = body
		}
		h.ServeHTTP(pw, r)
		if pw.hijacked {
			return
		}
		_ = rc.SetWriteDeadline(s.now().Add(s.limits.WriteTimeout)) // for net/http's final flush
		switch {
		case body == nil || body.done:
		case body.refused:
			_ = rc.SetReadDeadline(aLongTimeAgo)
		default:
			_ = rc.SetReadDeadline(s.now().Add(unreadBodyGrace))
		}
	})
}

// minRateBody is a request body that must deliver need bytes in every window: each time it has, the
// connection's read deadline moves one window on. It stops touching the deadline at the body's end,
// where net/http takes the connection back (and clears the deadline for its own background read).
type minRateBody struct {
	r      io.ReadCloser
	rc     *http.ResponseController
	now    func() time.Time
	window time.Duration
	need   int64

	got     int64 // bytes in the current window
	done    bool  // the body ended or failed: deadlines are net/http's again
	refused bool  // the request was refused before its handler: never read a byte more
}

func (b *minRateBody) start() {
	b.need = max(b.need, 1)
	_ = b.rc.SetReadDeadline(b.now().Add(b.window))
}

func (b *minRateBody) Read(p []byte) (int, error) {
	if b.done {
		return b.r.Read(p)
	}
	n, err := b.r.Read(p)
	if err != nil {
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("request body slower than %d bytes per %s: %w", b.need, b.window, err)
		}
		return n, err
	}
	if b.got += int64(n); b.got >= b.need {
		b.got = 0
		_ = b.rc.SetReadDeadline(b.now().Add(b.window))
	}
	return n, nil
}

func (b *minRateBody) Close() error { return b.r.Close() }

// progressWriter gives each write of a response (and each flush) timeout to complete.
type progressWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	now      func() time.Time
	hijacked bool
}

func (w *progressWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(w.now().Add(w.timeout))
	return w.ResponseWriter.Write(p)
}

// FlushError flushes within the timeout (http.ResponseController and echo's Flush call it).
func (w *progressWriter) FlushError() error {
	_ = w.rc.SetWriteDeadline(w.now().Add(w.timeout))
	return w.rc.Flush()
}

// Hijack hands the connection over with no deadline left on it: its new owner sets its own.
func (w *progressWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := w.rc.Hijack()
	if err == nil {
		w.hijacked = true
		_ = c.SetDeadline(time.Time{})
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the connection's other controls.
func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// closeUnread makes a refused request's connection close after the answer without reading the
// rest of its body: an unauthenticated client cannot make the server read (or wait for) a byte of it.
func closeUnread(c echo.Context) {
	req := c.Request()
	if req.Body == nil || req.Body == http.NoBody {
		return
	}
	if b, ok := req.Body.(*minRateBody); ok {
		b.refused = true
	}
	c.Response().Header().Set(echo.HeaderConnection, "close")
	_ = http.NewResponseController(c.Response()).SetReadDeadline(aLongTimeAgo)
}
