package images

import (
	"cmp"
	"context"
	"io"
	"time"
)

// paceConfig is the minimum rate of received data (ImportOptions.MinRate, RateWindow).
type paceConfig struct {
	rate   int64 // bytes/s; 0: no minimum
	window time.Duration
}

// pace checks a stream against a minimum rate: time is cut into windows from the first read, and
// each window must bring at least rate × window bytes. A trickle (1 byte every 5 s) fails at the
// end of its first window, and so does a stream that stops altogether, once something wakes its
// reader at the deadline (see pacedReader.arm).
type pace struct {
	cfg   paceConfig
	now   func() time.Time
	start time.Time // of the current window
	n     int64     // bytes received in the current window
	what  string    // for messages: "upload", "download of URL"
}

func paceOf(o ImportOptions) paceConfig {
	return paceConfig{rate: o.MinRate, window: cmp.Or(o.RateWindow, DefaultRateWindow)}
}

func newPace(cfg paceConfig, now func() time.Time, what string) *pace {
	return &pace{cfg: cfg, now: now, start: now(), what: what}
}

func (p *pace) need() int64 { return int64(float64(p.cfg.rate) * p.cfg.window.Seconds()) }

// add counts n bytes received now and fails when a window ended with fewer than it needs.
func (p *pace) add(n int64) error {
	now := p.now()
	p.n += n
	for !now.Before(p.start.Add(p.cfg.window)) {
		if p.n < p.need() {
			return faultf(ErrTooSlow, "%s slower than the minimum of %d bytes/s over %s (%d bytes in the last window)",
				p.what, p.cfg.rate, p.cfg.window, p.n)
		}
		p.start, p.n = p.start.Add(p.cfg.window), 0
	}
	return nil
}

// deadline is when the next bytes must have come: the end of the current window, or of the next
// one when the current window already has what it needs.
func (p *pace) deadline() time.Time {
	end := p.start.Add(p.cfg.window)
	if p.n >= p.need() {
		end = end.Add(p.cfg.window)
	}
	return end
}

// pacedReader fails its reads once the stream falls under the minimum rate. arm, when set, is
// given the deadline before each read and must make a read still blocked then return (a read
// deadline on the connection, or a timer that cancels the request), so that a sender who stops
// sending fails too.
type pacedReader struct {
	r   io.Reader
	p   *pace
	arm func(deadline time.Time)
}

func (r *pacedReader) Read(b []byte) (int, error) {
	if r.arm != nil {
		r.arm(r.p.deadline())
	}
	n, err := r.r.Read(b)
	if perr := r.p.add(int64(n)); perr != nil {
		return n, perr
	}
	return n, err
}

// paced wraps r in a pacedReader when a minimum rate is configured.
func (c paceConfig) paced(r io.Reader, what string, arm func(time.Time)) io.Reader {
	if c.rate <= 0 {
		return r
	}
	return &pacedReader{r: r, p: newPace(c, time.Now, what), arm: arm}
}

// ReadDeadliner is a request body whose blocked reads a deadline can end (the web layer's upload
// bodies, through http.ResponseController): Upload uses it to fail a sender that stops sending and
// to cancel an upload when its image is deleted.
type ReadDeadliner interface {
	SetReadDeadline(t time.Time) error
}

// uploadReader is body as an upload reads it: stopped by ctx (a Delete cancels it), and held to
// the minimum rate. A body that is a ReadDeadliner also has a blocked read ended, by a deadline,
// when the rate's deadline passes or ctx ends. Call done once the body is read: it clears the
// deadline, which must not outlive the body (net/http would cancel the request when its
// connection's next read times out).
func (s *Service) uploadReader(ctx context.Context, body io.Reader) (r io.Reader, done func()) {
	d, ok := body.(ReadDeadliner)
	if !ok {
		return s.pace.paced(ctxReader{ctx, body}, "upload", nil), func() {}
	}
	stop := context.AfterFunc(ctx, func() { d.SetReadDeadline(time.Now()) })
	arm := func(t time.Time) { d.SetReadDeadline(t) }
	if s.pace.rate <= 0 {
		arm = nil
	}
	// ctxReader runs after arm: a cancel that came between them is seen before the read.
	return s.pace.paced(ctxReader{ctx, body}, "upload", arm), func() {
		if stop() {
			d.SetReadDeadline(time.Time{})
		}
	}
}
