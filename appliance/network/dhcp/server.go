package dhcp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

// Server answers DHCPv4 on one bridge. Its methods are safe for concurrent use.
type Server struct {
	lookup Lookup
	log    *slog.Logger
	limit  *limiter
	cfg    atomic.Pointer[Config] // replaced whole by Update
	stats  counters
	onAck  atomic.Pointer[func(Reservation)]

	mu      sync.Mutex // guards the fields below
	conn    *net.UDPConn
	started bool
	wg      sync.WaitGroup // the serve goroutine
}

// OnAck sets a function told of every lease granted (each ACK), in a goroutine of its own so it
// never delays a reply. nil stops the calls.
func (s *Server) OnAck(f func(Reservation)) {
	if f == nil {
		s.onAck.Store(nil)
		return
	}
	s.onAck.Store(&f)
}

// New validates cfg and returns a server that is not listening yet. A nil log discards.
func New(cfg Config, lookup Lookup, log *slog.Logger) (*Server, error) {
	c, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if lookup == nil {
		return nil, invalid("no lookup")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{lookup: lookup, log: log.With("interface", c.Interface), limit: newLimiter(time.Now)}
	s.cfg.Store(&c)
	return s, nil
}

// Start listens on port 67 of the configured interface, and only there, and serves until Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	ifname := s.cfg.Load().Interface
	conn, err := server4.NewIPv4UDPConn(ifname, &net.UDPAddr{Port: dhcpv4.ServerPort})
	if err != nil {
		return fmt.Errorf("listen dhcp on %s: %w", ifname, err)
	}
	neigh, err := openNeighbours(ifname)
	if err != nil {
		conn.Close()
		return fmt.Errorf("dhcp on %s: %w", ifname, err)
	}
	s.conn, s.started = conn, true
	s.wg.Add(1)
	go s.serve(conn, neigh)
	return nil
}

// Update replaces the options; the next reply uses them. The interface cannot change.
func (s *Server) Update(cfg Config) error {
	c, err := cfg.validate()
	if err != nil {
		return err
	}
	if old := s.cfg.Load().Interface; c.Interface != old {
		return invalid("interface %s: the server is bound to %s", c.Interface, old)
	}
	s.cfg.Store(&c)
	return nil
}

// Close stops the server and waits for its goroutine. Closing twice is fine.
func (s *Server) Close() error {
	s.mu.Lock()
	conn := s.conn
	s.conn, s.started = nil, true // a closed server does not start again
	s.mu.Unlock()
	var err error
	if conn != nil {
		err = conn.Close()
	}
	s.wg.Wait()
	return err
}

// Stats returns the counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// serve handles one message at a time: a flood queues in the socket buffer (and overflows there)
// instead of multiplying goroutines. It owns neigh and closes it when conn is closed.
func (s *Server) serve(conn *net.UDPConn, neigh *neighbours) {
	defer s.wg.Done()
	defer neigh.close()
	buf := make([]byte, 4096)
	for {
		n, _, err := conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.log.Warn("dhcp: read", "err", err)
			time.Sleep(10 * time.Millisecond) // no busy loop on a persistent error
			continue
		}
		req, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			s.stats.invalid.Add(1)
			s.log.Debug("dhcp: unparsable message", "err", err)
			continue
		}
		if resp := s.handle(req); resp != nil {
			s.send(conn, neigh, req, resp)
		}
	}
}

func (s *Server) send(conn *net.UDPConn, neigh *neighbours, req, resp *dhcpv4.DHCPv4) {
	dst := replyDest(req, resp)
	if dst.Resolve {
		if err := neigh.set(dst.IP, req.ClientHWAddr); err != nil {
			s.log.Warn("dhcp: cannot unicast, broadcasting instead", "mac", req.ClientHWAddr.String(), "err", err)
			dst.IP = broadcast
		}
	}
	to := &net.UDPAddr{IP: ip(dst.IP), Port: dhcpv4.ClientPort}
	if _, err := conn.WriteTo(resp.ToBytes(), to); err != nil {
		s.log.Warn("dhcp: send reply", "mac", req.ClientHWAddr.String(), "to", to, "type", resp.MessageType(), "err", err)
	}
}
