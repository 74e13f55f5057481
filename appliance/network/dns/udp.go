package dns

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"
)

// serveUDP answers local names in line and hands forwards to bounded goroutines, so a slow
// upstream does not hold up the gateway's own names.
func (s *Server) serveUDP(conn *net.UDPConn) {
	defer s.wg.Done()
	buf := make([]byte, maxMsgSize)
	for {
		n, src, err := conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.log.Warn("dns: read udp", "err", err)
			time.Sleep(10 * time.Millisecond) // no busy loop on a persistent error
			continue
		}
		q := s.admit(buf[:n], src.Addr().Unmap())
		if q == nil {
			continue
		}
		c := s.cfg.Load()
		if !needsForward(c, q) {
			s.sendUDP(conn, src, s.respond(s.ctx, c, q, buf[:n], udpLimit(q)))
			continue
		}
		select {
		case s.inFlight <- struct{}{}:
		default:
			s.stats.busy.Add(1)
			continue
		}
		pkt := slices.Clone(buf[:n])
		q, _ = parse(pkt) // q must not point into buf, which the next read overwrites
		s.wg.Add(1)
		go func() {
			defer func() { <-s.inFlight; s.wg.Done() }()
			s.sendUDP(conn, src, s.respond(s.ctx, c, q, pkt, udpLimit(q)))
		}()
	}
}

func (s *Server) sendUDP(conn *net.UDPConn, to netip.AddrPort, resp []byte) {
	if _, err := conn.WriteToUDPAddrPort(resp, to); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("dns: send udp reply", "to", to, "err", err)
	}
}
