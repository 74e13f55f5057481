package compute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// serialConsole is the daemon's one connection to a running QEMU's serial chardev socket: QEMU serves
// one client, so every viewer goes through this connection's hub. It is made after a launch or a
// reattach and ends when QEMU closes the socket or the supervisor lets go of the instance.
type serialConsole struct {
	hub  *serialHub
	conn net.Conn
	done chan struct{} // closed when the reader, the writer and the log trimmer have returned
	trim chan struct{} // the reader asks for a console log rotation (buffered: asks never wait)
	// connected runs once QEMU has accepted the connection (its first bytes arrived): it widens
	// QEMU's send buffer (see qemu.ConsoleSendBuffer). Nil: nothing to do.
	connected func() error
}

// serialRegistry holds the running instances' serial consoles; its zero value is ready.
type serialRegistry struct {
	logMu sync.Mutex // serializes console log rotations with reads of the log

	mu       sync.Mutex // guards the fields below
	consoles map[string]*serialConsole
	logs     map[string]logRotation // console.log cuts made by this daemon, per instance
}

func (r *serialRegistry) get(id string) *serialConsole {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.consoles[id]
}

// swap records c as id's console (nil: none) and returns the one it replaces.
func (r *serialRegistry) swap(id string, c *serialConsole) *serialConsole {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.consoles == nil {
		r.consoles = map[string]*serialConsole{}
	}
	old := r.consoles[id]
	if c == nil {
		delete(r.consoles, id)
	} else {
		r.consoles[id] = c
	}
	return old
}

// startSerial connects to the instance's serial console socket and starts serving it; a console it
// had before ends first. A QEMU without the socket leaves the instance without a live console (the
// log still fills); that is logged, not fatal.
func (sv *supervisor) startSerial() {
	sv.stopSerial()
	s, p := sv.s, sv.paths()
	s.trimConsoleLog(sv.id) // QEMU wrote alone while nobody rotated: the daemon was down, or it is a new boot
	conn, err := net.DialTimeout("unix", p.Console, 5*time.Second)
	if err != nil {
		s.log.Warn("connect to the serial console", "instance", sv.id, "err", err)
		return
	}
	c := &serialConsole{hub: newSerialHub(s.o.SerialViewers), conn: conn, done: make(chan struct{}),
		trim: make(chan struct{}, 1)}
	if sv.proc != nil {
		pid, path := sv.proc.PID(), p.Console
		c.connected = func() error { return s.hv.widenConsole(pid, path) }
	}
	s.serials.swap(sv.id, c)
	var wg sync.WaitGroup
	wg.Add(3)
	s.goBackground(func() { defer wg.Done(); s.readSerial(sv.id, c) })
	s.goBackground(func() { defer wg.Done(); writeSerial(c) })
	s.goBackground(func() { defer wg.Done(); s.trimWhileRead(sv.id, c) })
	s.goBackground(func() { wg.Wait(); close(c.done) })
}

// trimWhileRead rotates the console log when the reader asks, away from the reader: a copy of half
// the log must never keep the reader from draining QEMU's socket.
func (s *Service) trimWhileRead(id string, c *serialConsole) {
	for {
		select {
		case <-c.hub.ended:
			return
		case <-c.trim:
			s.trimConsoleLog(id)
		}
	}
}

// stopSerial ends the instance's console connection and drops its viewers.
func (sv *supervisor) stopSerial() {
	c := sv.s.serials.swap(sv.id, nil)
	if c == nil {
		return
	}
	c.conn.Close()
	c.hub.end()
	<-c.done
}

// releaseSerial ends the console and forgets the instance's log rotations: its supervisor is done.
func (sv *supervisor) releaseSerial() {
	sv.stopSerial()
	sv.s.serials.mu.Lock()
	delete(sv.s.serials.logs, sv.id)
	sv.s.serials.mu.Unlock()
}

// readSerial reads the guest's output and fans it out until QEMU closes the socket; every
// rotateEvery bytes (1/64 of the cap, at most serialChunk) it asks for a check of the console log's
// size. One buffer serves every read (broadcast copies): QEMU's serial port writes a byte at a time,
// so most reads return a few bytes, and this loop must keep up — while the socket is full QEMU holds
// the guest's output back (and QEMU 7.2 logs the byte it holds twice): nothing else runs here.
func (s *Service) readSerial(id string, c *serialConsole) {
	defer c.hub.end()
	rotateEvery := min(s.o.ConsoleLogMaxBytes/64, serialChunk)
	var since int64
	buf := make([]byte, serialChunk)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 && c.connected != nil {
			if err := c.connected(); err != nil {
				s.log.Warn("widen the serial console's socket buffer", "instance", id, "err", err)
			}
			c.connected = nil
		}
		if n > 0 {
			c.hub.broadcast(buf[:n])
			if since += int64(n); since >= rotateEvery {
				since = 0
				select {
				case c.trim <- struct{}{}:
				default: // one is pending
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Warn("read the serial console", "instance", id, "err", err)
			}
			return
		}
	}
}

// writeSerial passes the keyboard holder's input to QEMU until the console ends.
func writeSerial(c *serialConsole) {
	for {
		select {
		case <-c.hub.ended:
			return
		case p := <-c.hub.input:
			if _, err := c.conn.Write(p); err != nil {
				return
			}
		}
	}
}

// AttachSerial joins the serial console of a running instance as a viewer in the mode asked for.
// The caller must Close the viewer.
func (s *Service) AttachSerial(ctx context.Context, projectID, idOrName string, mode SerialMode) (*SerialViewer, error) {
	switch mode {
	case SerialAuto, SerialKeyboard, SerialView:
	default:
		return nil, errInvalid("serial console mode %q: want keyboard or view", mode)
	}
	inst, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return nil, err
	}
	c := s.serials.get(inst.ID)
	if c == nil {
		return nil, errConflict("instance %s has no serial console now: it is %s", inst.Name, inst.VMState)
	}
	v, err := c.hub.join(inst.Name, mode)
	if err != nil {
		return nil, fmt.Errorf("attach to the serial console: %w", err)
	}
	return v, nil
}
