package qmptest

import (
	"encoding/json"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// conn is one client connection.
type conn struct {
	s          *Server
	c          *net.UnixConn
	negotiated atomic.Bool   // qmp_capabilities has succeeded: commands allowed, events sent
	gone       chan struct{} // closed by close
	closeOnce  sync.Once

	wmu sync.Mutex // serialises writes (replies and Emit)

	fdmu sync.Mutex // guards fds
	fds  []int      // descriptors received and not yet claimed by getfd
}

// request is a command as a client sends it.
type request struct {
	Execute   string          `json:"execute"`
	Arguments json.RawMessage `json:"arguments"`
	ID        json.RawMessage `json:"id"`
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		if sc := s.track(c); sc != nil {
			go sc.serve()
		}
	}
}

// track registers a new connection, or closes it if the server is closing.
func (s *Server) track(c *net.UnixConn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil
	}
	sc := &conn{s: s, c: c, gone: make(chan struct{})}
	s.conns[sc] = struct{}{}
	s.wg.Add(1)
	return sc
}

func (s *Server) snapshotConns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

func (sc *conn) serve() {
	defer sc.s.wg.Done()
	defer sc.untrack()
	if !sc.waitUnhung() {
		return
	}
	sc.send(map[string]any{"QMP": map[string]any{
		"version": map[string]any{
			"qemu":    map[string]int{"major": 7, "minor": 2, "micro": 22},
			"package": "qmptest",
		},
		"capabilities": []string{"oob"},
	}})
	dec := json.NewDecoder(fdReader{sc})
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			return
		}
		sc.s.serveCommand(sc, req)
	}
}

// waitUnhung holds the greeting back while the server hangs; false if the connection went away.
func (sc *conn) waitUnhung() bool {
	for {
		sc.s.mu.Lock()
		hanging, unhung := sc.s.hanging, sc.s.unhung
		sc.s.mu.Unlock()
		if !hanging {
			return true
		}
		select {
		case <-unhung:
		case <-sc.gone:
			return false
		}
	}
}

func (sc *conn) untrack() {
	sc.close()
	sc.s.mu.Lock()
	delete(sc.s.conns, sc)
	sc.s.mu.Unlock()
	sc.fdmu.Lock()
	defer sc.fdmu.Unlock()
	for _, fd := range sc.fds {
		unix.Close(fd)
	}
	sc.fds = nil
}

func (sc *conn) close() {
	sc.closeOnce.Do(func() {
		close(sc.gone)
		sc.c.Close()
	})
}

// send writes one JSON message line; a write error means the client is gone, which its reader
// notices.
func (sc *conn) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("qmptest: " + err.Error()) // a test passed Emit something unencodable
	}
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	sc.c.Write(append(b, '\n'))
}

// fdReader reads the stream with recvmsg, keeping descriptors passed with SCM_RIGHTS.
type fdReader struct{ sc *conn }

func (r fdReader) Read(p []byte) (int, error) {
	oob := make([]byte, unix.CmsgSpace(16*4))
	n, oobn, _, _, err := r.sc.c.ReadMsgUnix(p, oob)
	if oobn > 0 {
		r.sc.keepFDs(oob[:oobn])
	}
	return max(n, 0), err // recvmsg's -1 on error comes through
}

func (sc *conn) keepFDs(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	sc.fdmu.Lock()
	defer sc.fdmu.Unlock()
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err == nil {
			sc.fds = append(sc.fds, fds...)
		}
	}
}

// takeFD claims the oldest received descriptor; -1 if there is none.
func (sc *conn) takeFD() int {
	sc.fdmu.Lock()
	defer sc.fdmu.Unlock()
	if len(sc.fds) == 0 {
		return -1
	}
	fd := sc.fds[0]
	sc.fds = sc.fds[1:]
	return fd
}
