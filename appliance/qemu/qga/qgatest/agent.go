package qgatest

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// Request is one command as the agent received it.
type Request struct {
	Execute   string    `json:"execute"`
	Arguments Arguments `json:"arguments"`
}

// Arguments are the arguments of the commands the model knows.
type Arguments struct {
	ID     int64  `json:"id"`     // guest-sync-delimited
	Mode   string `json:"mode"`   // guest-shutdown: "powerdown", "reboot"…; guest-file-open: "r"…
	Path   string `json:"path"`   // guest-file-open
	Handle int64  `json:"handle"` // guest-file-read, guest-file-close
	Count  int    `json:"count"`  // guest-file-read
}

// Handler answers one command by writing to w whatever it likes: a reply line, nothing, garbage,
// megabytes. A write error means the client is gone; the handler may stop there.
type Handler func(r Request, w io.Writer)

// Agent is a fake guest agent. Its methods are safe for concurrent use.
type Agent struct {
	path string
	ln   *net.UnixListener
	wg   sync.WaitGroup // the accept loop and one goroutine per connection

	mu         sync.Mutex // guards the fields below
	closed     bool
	conns      map[net.Conn]struct{}
	handlers   map[string]Handler
	every      Handler
	commands   []string
	onShutdown func(mode string)
	files      map[string]string // path → content; a path not here does not exist
	open       map[int64]*handle
	nextHandle int64
	maxRead    int
}

// handle is an open guest file.
type handle struct {
	path   string
	offset int
}

// New starts an agent listening on a unix socket in t's temp dir; t.Cleanup stops it.
func New(t testing.TB) *Agent {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qga.sock")
	if len(path) > 100 { // sun_path holds 108 bytes; long test names make long temp dirs
		dir, err := os.MkdirTemp("", "qgatest")
		if err != nil {
			t.Fatalf("qgatest: %v", err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		path = filepath.Join(dir, "qga.sock")
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("qgatest: listen %s: %v", path, err)
	}
	a := &Agent{
		path:     path,
		ln:       ln,
		conns:    map[net.Conn]struct{}{},
		handlers: map[string]Handler{},
		files:    map[string]string{},
		open:     map[int64]*handle{},
	}
	a.wg.Add(1)
	go a.accept()
	t.Cleanup(a.close)
	return a
}

// Path is the socket to Dial.
func (a *Agent) Path() string { return a.path }

// Handle scripts the answer to command, replacing the default; nil restores the default.
func (a *Agent) Handle(command string, h Handler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h == nil {
		delete(a.handlers, command)
		return
	}
	a.handlers[command] = h
}

// HandleEvery scripts the answer to every command, guest-sync-delimited included, above any
// [Agent.Handle]: an agent that hangs, floods or garbles whatever it is asked. nil ends it.
func (a *Agent) HandleEvery(h Handler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.every = h
}

// OnShutdown sets what the default guest-shutdown does besides staying silent: fn gets the mode
// (the guest powering off or rebooting).
func (a *Agent) OnShutdown(fn func(mode string)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onShutdown = fn
}

// SetFile makes a file of the guest exist with content.
func (a *Agent) SetFile(path, content string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.files[path] = content
}

// SetMaxRead makes each guest-file-read return at most n bytes, whatever count it asks (0: count).
func (a *Agent) SetMaxRead(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maxRead = n
}

// OpenHandles is the number of file handles opened and not closed.
func (a *Agent) OpenHandles() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.open)
}

// Commands returns the name of every command received, in order, including unanswered ones.
func (a *Agent) Commands() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.commands)
}

// close stops listening, drops every connection and waits for the agent's goroutines.
func (a *Agent) close() {
	a.mu.Lock()
	a.closed = true
	conns := make([]net.Conn, 0, len(a.conns))
	for c := range a.conns {
		conns = append(conns, c)
	}
	a.mu.Unlock()
	a.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	a.wg.Wait()
}
