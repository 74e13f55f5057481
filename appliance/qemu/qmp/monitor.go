package qmp

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Monitor is a connection to one QEMU's QMP socket. Its methods are safe for concurrent use.
type Monitor struct {
	socket     string
	conn       *net.UnixConn
	version    string
	sem        chan struct{} // one slot: held by the command in flight
	ids        atomic.Uint64
	events     *eventQueue
	transcript transcript
	observe    Observer       // nil: commands are not reported (observe.go)
	greeted    chan *greeting // the reader hands the greeting to Dial
	done       chan struct{}  // closed when the connection is gone
	wg         sync.WaitGroup // the reader and the event pump

	mu      sync.Mutex // guards the fields below
	pending *call      // the command in flight, nil when none
	closed  bool
	cause   error // why the connection ended; nil for Close and a clean EOF
}

// call is a command waiting for its reply.
type call struct {
	id    string // the raw JSON of the id sent
	reply chan reply
}

// Dial connects to the QMP socket at socketPath, reads QEMU's greeting and leaves capabilities
// negotiation with qmp_capabilities, all bounded by ctx. Events are queued from then on.
func Dial(ctx context.Context, socketPath string) (*Monitor, error) {
	return dial(ctx, socketPath, nil)
}

func dial(ctx context.Context, socketPath string, observe Observer) (*Monitor, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("qmp dial %s: %w", socketPath, err)
	}
	m := newMonitor(socketPath, c.(*net.UnixConn))
	m.observe = observe
	if err := m.handshake(ctx); err != nil {
		m.Close()
		return nil, fmt.Errorf("qmp dial %s: %w", socketPath, err)
	}
	return m, nil
}

func newMonitor(socketPath string, c *net.UnixConn) *Monitor {
	m := &Monitor{
		socket:  socketPath,
		conn:    c,
		sem:     make(chan struct{}, 1),
		events:  newEventQueue(),
		greeted: make(chan *greeting, 1),
		done:    make(chan struct{}),
	}
	m.wg.Add(2)
	go m.read(json.NewDecoder(c))
	go func() {
		defer m.wg.Done()
		m.events.pump()
	}()
	return m
}

// handshake waits for the greeting, then runs qmp_capabilities.
func (m *Monitor) handshake(ctx context.Context) error {
	select {
	case g := <-m.greeted:
		m.version = g.String()
	case <-m.done:
		return fmt.Errorf("waiting for greeting: %w", m.closedErr())
	case <-ctx.Done():
		return fmt.Errorf("waiting for greeting: %w", ctx.Err())
	}
	return m.Execute(ctx, "qmp_capabilities", nil, nil)
}

// Version is QEMU's version from the greeting, e.g. "7.2.22".
func (m *Monitor) Version() string { return m.version }

// Done is closed when the connection is gone.
func (m *Monitor) Done() <-chan struct{} { return m.done }

// Events returns the monitor's one event channel. Events are queued from the moment the
// connection exists, however slowly they are read; the last one is EventDisconnected, after
// which the channel is closed.
func (m *Monitor) Events() <-chan Event { return m.events.out }

// Transcript returns the last lines of QMP traffic, oldest first: "-> {...}" sent, "<- {...}"
// received.
func (m *Monitor) Transcript() []string { return m.transcript.snapshot() }

// Close closes the connection, fails every waiting call with ErrClosed, and returns once every
// goroutine the monitor started has ended. Events not yet received are discarded: when Close
// returns, the Events channel holds at most EventDisconnected and is closed. Close is idempotent
// and always returns nil.
func (m *Monitor) Close() error {
	m.shutdown(nil)
	m.events.halt()
	m.wg.Wait()
	return nil
}

// shutdown ends the connection once: later calls get ErrClosed, the event stream ends with
// EventDisconnected carrying cause. The final event is queued and done closed under mu, so once
// any shutdown call has returned both have happened (Close relies on that before halting the
// event pump).
func (m *Monitor) shutdown(cause error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed, m.cause = true, cause
	m.events.finish(disconnected(cause, time.Now()))
	close(m.done)
	m.mu.Unlock()
	m.conn.Close()
}

// closedErr is ErrClosed, with the reason the connection ended when there was one.
func (m *Monitor) closedErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cause != nil {
		return fmt.Errorf("%w: %v", ErrClosed, m.cause)
	}
	return ErrClosed
}
