package compute

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// fakeHV is a hypervisor whose QEMUs are qmptest servers: each start makes one and links the instance's
// QMP socket path to it, so the supervisor code under test is the real one.
type fakeHV struct {
	t *testing.T

	mu        sync.Mutex           // guards the fields below
	procs     map[string]*fakeProc // by instance id: the live one
	starts    []qemu.Spec
	nextPID   int
	failStart error
	onStart   func(*fakeProc, qemu.Spec) // configures each new fake QEMU
	onDial    func(socket string) error  // runs before each monitor dial; an error is the dial's
}

func newFakeHV(t *testing.T) *fakeHV {
	return &fakeHV{t: t, procs: map[string]*fakeProc{}, nextPID: 1000}
}

// fakeProc is one fake QEMU process.
type fakeProc struct {
	srv    *qmptest.Server
	pid    int
	exited chan struct{}
	once   sync.Once
	status string
	killed bool

	mu      sync.Mutex        // guards actions
	actions map[string]string // what set-action asked for, merged
}

// setAction records a set-action as QEMU applies it: each action named is replaced.
func (p *fakeProc) setAction(args json.RawMessage) (any, *qmptest.Error) {
	var a map[string]string
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, &qmptest.Error{Class: "GenericError", Desc: err.Error()}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.actions == nil {
		p.actions = map[string]string{}
	}
	maps.Copy(p.actions, a)
	return map[string]any{}, nil
}

// actionsSet returns a copy of the actions set so far.
func (p *fakeProc) actionsSet() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.actions)
}

func (p *fakeProc) PID() int                    { return p.pid }
func (p *fakeProc) StartTime() uint64           { return uint64(p.pid) * 7 }
func (p *fakeProc) Exited() <-chan struct{}     { return p.exited }
func (p *fakeProc) ExitStatus() string          { return p.status }
func (p *fakeProc) StderrTail(int) string       { return "" }
func (p *fakeProc) Signal(syscall.Signal) error { return nil }
func (p *fakeProc) Kill(ctx context.Context) error {
	p.killed = true
	p.die("signal: killed")
	return nil
}

// die ends the fake process as if QEMU exited.
func (p *fakeProc) die(status string) {
	p.once.Do(func() {
		p.status = status
		p.srv.Disconnect()
		close(p.exited)
	})
}

func (h *fakeHV) start(spec qemu.Spec, _ qemu.StartOptions) (process, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failStart != nil {
		return nil, h.failStart
	}
	if err := os.MkdirAll(filepath.Dir(spec.Paths.QMP), 0o700); err != nil {
		return nil, err
	}
	srv := qmptest.New(h.t)
	os.Remove(spec.Paths.QMP)
	if err := os.Symlink(srv.Path(), spec.Paths.QMP); err != nil {
		return nil, err
	}
	h.nextPID++
	p := &fakeProc{srv: srv, pid: h.nextPID, exited: make(chan struct{})}
	go func() {
		select {
		case <-srv.Exited():
			p.die("exit status 0")
		case <-p.exited:
		}
	}()
	srv.Handle("set-action", p.setAction)
	if h.onStart != nil {
		h.onStart(p, spec)
	}
	h.procs[spec.UUID] = p
	h.starts = append(h.starts, spec)
	return p, nil
}

func (h *fakeHV) attach(_ qemu.Paths, id string) (process, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.procs[id]
	if p == nil {
		return nil, qemu.ErrNotRunning
	}
	select {
	case <-p.exited:
		return nil, qemu.ErrNotRunning
	default:
		return p, nil
	}
}

func (h *fakeHV) dial(ctx context.Context, socket string) (*qmp.Monitor, error) {
	h.mu.Lock()
	onDial := h.onDial
	h.mu.Unlock()
	if onDial != nil {
		if err := onDial(socket); err != nil {
			return nil, err
		}
	}
	return qmp.Dial(ctx, socket)
}

func (h *fakeHV) scan(string) ([]qemu.Found, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []qemu.Found
	for id, p := range h.procs {
		select {
		case <-p.exited:
		default:
			out = append(out, qemu.Found{PID: p.pid, UUID: id})
		}
	}
	return out, nil
}

func (h *fakeHV) killFound(f qemu.Found) error {
	h.mu.Lock()
	p := h.procs[f.UUID]
	h.mu.Unlock()
	if p == nil {
		return errors.New("no such process")
	}
	p.die("signal: killed")
	return nil
}

func (h *fakeHV) cleanup(paths qemu.Paths) error { return os.RemoveAll(paths.RunDir) }

// proc returns the live fake QEMU of an instance.
func (h *fakeHV) proc(id string) *fakeProc {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.procs[id]
}

func (h *fakeHV) startCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.starts)
}

func (h *fakeHV) widenConsole(int, string) error { return nil } // the fake's console is a test's listener
