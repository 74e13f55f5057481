package qmptest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// Error is a scripted QMP error reply: {"error": {"class": Class, "desc": Desc}}.
type Error struct {
	Class string // e.g. "GenericError", "DeviceNotFound"
	Desc  string
}

func (e *Error) Error() string { return e.Class + ": " + e.Desc }

// Handler answers one command: a result (nil sends {}) or an error.
type Handler func(args json.RawMessage) (result any, err *Error)

// ReceivedFD is a descriptor the server got with getfd.
type ReceivedFD struct {
	Name string      // the fdname argument
	Info os.FileInfo // fstat of the descriptor as received; compare with os.SameFile
}

// Server is a fake QEMU monitor. Its methods are safe for concurrent use.
type Server struct {
	path     string
	ln       *net.UnixListener
	builtins map[string]builtin
	exited   chan struct{}
	exitOnce sync.Once
	wg       sync.WaitGroup // the accept loop and one goroutine per connection

	mu                 sync.Mutex // guards the fields below
	closed             bool
	conns              map[*conn]struct{}
	handlers           map[string]Handler
	commands           []string
	received           chan struct{} // closed (and replaced) when a command arrives
	hanging            bool
	unhung             chan struct{} // closed when Hang(false) ends a hang
	status             string
	migrated           bool
	powerdownShutsDown bool
	fds                []ReceivedFD
}

// New starts a server listening on a unix socket in t's temp dir; t.Cleanup stops it.
func New(t testing.TB) *Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qmp.sock")
	if len(path) > 100 { // sun_path holds 108 bytes; long test names make long temp dirs
		dir, err := os.MkdirTemp("", "qmptest")
		if err != nil {
			t.Fatalf("qmptest: %v", err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		path = filepath.Join(dir, "qmp.sock")
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("qmptest: listen %s: %v", path, err)
	}
	s := &Server{
		path:     path,
		ln:       ln,
		exited:   make(chan struct{}),
		conns:    map[*conn]struct{}{},
		handlers: map[string]Handler{},
		received: make(chan struct{}),
		unhung:   make(chan struct{}),
		status:   "prelaunch",
	}
	s.builtins = s.defaults()
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

// Path is the socket to Dial.
func (s *Server) Path() string { return s.path }

// Exited is closed once the fake QEMU has exited (quit, or a powerdown the guest obeyed).
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Handle scripts the answer to command, replacing the default.
func (s *Server) Handle(command string, fn Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[command] = fn
}

// Commands returns the name of every command received, in order, including unanswered ones.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

// WaitCommand returns once command has been received (at once if it has been already).
func (s *Server) WaitCommand(ctx context.Context, command string) error {
	for {
		s.mu.Lock()
		seen, received := slices.Contains(s.commands, command), s.received
		s.mu.Unlock()
		if seen {
			return nil
		}
		select {
		case <-received:
		case <-ctx.Done():
			return fmt.Errorf("qmptest: wait for command %s: %w", command, ctx.Err())
		}
	}
}

// Hang freezes the fake QEMU while on: connections are accepted and commands read and recorded,
// but nothing is answered and new connections get no greeting until Hang(false). Commands received
// during the hang are never answered.
func (s *Server) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on == s.hanging {
		return
	}
	s.hanging = on
	if on {
		s.unhung = make(chan struct{})
	} else {
		close(s.unhung)
	}
}

// Disconnect drops every client connection; clients see EOF. The server keeps listening.
func (s *Server) Disconnect() {
	for _, c := range s.snapshotConns() {
		c.close()
	}
}

// Status is the fake VM's run state: "prelaunch", "running", "paused", "inmigrate", "shutdown", ….
func (s *Server) Status() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// SetStatus sets the run state, e.g. "inmigrate" to model qemu -incoming.
func (s *Server) SetStatus(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// PowerdownShutsDown makes the guest obey system_powerdown (it ignores it by default).
func (s *Server) PowerdownShutsDown(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.powerdownShutsDown = on
}

// ReceivedFDs lists the descriptors received with getfd, in order.
func (s *Server) ReceivedFDs() []ReceivedFD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.fds)
}

// close stops listening, drops every connection and waits for the server's goroutines.
func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ln.Close()
	s.Disconnect()
	s.wg.Wait()
}
