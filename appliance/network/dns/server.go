package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	forwardTimeout = 2 * time.Second  // how long the upstreams get to answer
	maxInFlight    = 64               // UDP queries being forwarded at once
	maxTCPConns    = 32               // open TCP connections
	tcpIdle        = 10 * time.Second // a TCP connection with no query for this long is closed
)

// Server answers DNS on one network's gateway. Its methods are safe for concurrent use.
type Server struct {
	lookup   Lookup
	log      *slog.Logger
	limit    *limiter
	timeout  time.Duration
	inFlight chan struct{}          // a token per UDP forward in progress
	cfg      atomic.Pointer[Config] // replaced whole by Update
	stats    counters
	ctx      context.Context // cancelled by Close: ends forwards in progress
	cancel   context.CancelFunc

	mu      sync.Mutex // guards the fields below
	udp     *net.UDPConn
	tcp     *net.TCPListener
	conns   map[*net.TCPConn]struct{}
	started bool
	wg      sync.WaitGroup // every goroutine the server started
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
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		lookup: lookup, log: log.With("listen", c.Listen.String()),
		limit:   newLimiter(time.Now, limitBurst, limitRate),
		timeout: forwardTimeout, inFlight: make(chan struct{}, maxInFlight),
		ctx: ctx, cancel: cancel, conns: make(map[*net.TCPConn]struct{}),
	}
	s.cfg.Store(&c)
	return s, nil
}

// Start listens on the configured address over UDP and TCP and serves until Close.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	addr := s.cfg.Load().Listen
	udp, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return fmt.Errorf("listen dns udp %s: %w", addr, err)
	}
	tcp, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		udp.Close()
		return fmt.Errorf("listen dns tcp %s: %w", addr, err)
	}
	s.udp, s.tcp, s.started = udp, tcp, true
	s.wg.Add(2)
	go s.serveUDP(udp)
	go s.serveTCP(tcp)
	return nil
}

// Update replaces the domain, upstreams and TTL; the next query uses them. Listen cannot change.
func (s *Server) Update(cfg Config) error {
	c, err := cfg.validate()
	if err != nil {
		return err
	}
	if old := s.cfg.Load().Listen; c.Listen != old {
		return invalid("listen %s: the server is bound to %s", c.Listen, old)
	}
	s.cfg.Store(&c)
	return nil
}

// Close stops the server and waits for every goroutine it started. Closing twice is fine.
func (s *Server) Close() error {
	s.mu.Lock()
	s.started = true // a closed server does not start again
	var errs []error
	if s.udp != nil {
		errs = append(errs, s.udp.Close())
	}
	if s.tcp != nil {
		errs = append(errs, s.tcp.Close())
	}
	for c := range s.conns {
		c.Close()
	}
	s.udp, s.tcp = nil, nil
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return errors.Join(errs...)
}

// Stats returns the counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }
