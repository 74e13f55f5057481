package dns

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"
)

// serveTCP accepts connections until the listener closes; each gets a goroutine, up to a cap.
func (s *Server) serveTCP(ln *net.TCPListener) {
	defer s.wg.Done()
	for {
		c, err := ln.AcceptTCP()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.log.Warn("dns: accept tcp", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !s.track(c) {
			s.stats.busy.Add(1)
			c.Close()
			continue
		}
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// track records c so Close can close it; false when the server is closing or full.
func (s *Server) track(c *net.TCPConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcp == nil || len(s.conns) >= maxTCPConns {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// serveConn answers length-prefixed queries one after another; anything dropped closes the
// connection, as does an idle one.
func (s *Server) serveConn(c *net.TCPConn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	src := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	var lenb [2]byte
	for {
		c.SetDeadline(time.Now().Add(tcpIdle))
		if _, err := io.ReadFull(c, lenb[:]); err != nil {
			return
		}
		pkt := make([]byte, binary.BigEndian.Uint16(lenb[:]))
		if _, err := io.ReadFull(c, pkt); err != nil {
			return
		}
		q := s.admit(pkt, src)
		if q == nil {
			return
		}
		resp := s.respond(s.ctx, s.cfg.Load(), q, pkt, maxMsgSize)
		c.SetDeadline(time.Now().Add(s.timeout + tcpIdle))
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(resp))), resp...)); err != nil {
			return
		}
	}
}
