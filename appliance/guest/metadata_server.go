package guest

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"cloudlet/appliance/ratelimit"
)

// Limits of the metadata service. A guest asks for a few dozen documents at boot; cloud-init retries
// with pauses of a second or more.
const (
	defaultConnsPerSource = 8
	defaultConnsTotal     = 256 // per network
	defaultBurst          = 60  // requests a source may make at once
	defaultRate           = 20  // requests per second a source may make after its burst
	limiterKeys           = 4096

	headerTimeout = 5 * time.Second
	readTimeout   = 10 * time.Second
	writeTimeout  = 10 * time.Second
	idleTimeout   = 30 * time.Second
	maxHeaderSize = 8 << 10
	shutdownWait  = 2 * time.Second // for answers in flight when a network goes down or the daemon stops
)

// ServerOptions configure the metadata server; zero values take the defaults above.
type ServerOptions struct {
	Log               *slog.Logger
	Now               func() time.Time // the rate limiter's clock
	MaxConnsPerSource int
	MaxConns          int     // per network
	Burst             float64 // requests per source at once
	Rate              float64 // requests per second per source after the burst
	// Observe is told of every answered request (metadata_observe.go); nil: none.
	Observe func(kind string, status int)
}

// Server is the metadata service: one HTTP server per network, on a listener the network's datapath
// opened on that network's bridge. Every request carries the Caller its listener recorded: the
// listener's network and the TCP peer's address, never anything the guest sent.
//
// Listeners handed over before Start wait (their connections queue in the backlog) until Start
// gives the server its Documents and ReadyMarker: the network is up before compute is.
type Server struct {
	o     ServerOptions
	limit *ratelimit.Limiter[Caller]

	mu      sync.Mutex // guards the fields below
	handler http.Handler
	waiting map[*netListener]bool
	serving map[*netListener]bool
	closed  bool

	wg sync.WaitGroup // one goroutine per serving listener
}

// netListener is one network's listener and, once serving, its HTTP server.
type netListener struct {
	networkID string
	ln        net.Listener
	srv       *http.Server  // set when it serves
	done      chan struct{} // closed when srv.Serve has returned
}

// NewServer returns a server that serves nothing until Start.
func NewServer(o ServerOptions) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxConnsPerSource <= 0 {
		o.MaxConnsPerSource = defaultConnsPerSource
	}
	if o.MaxConns <= 0 {
		o.MaxConns = defaultConnsTotal
	}
	if o.Burst <= 0 {
		o.Burst = defaultBurst
	}
	if o.Rate <= 0 {
		o.Rate = defaultRate
	}
	return &Server{o: o, limit: ratelimit.New[Caller](o.Now, o.Burst, o.Rate, limiterKeys),
		waiting: map[*netListener]bool{}, serving: map[*netListener]bool{}}
}

// Start serves every listener handed over so far, and later ones at once, answering documents from
// docs and phone-homes through ready.
func (s *Server) Start(docs Documents, ready ReadyMarker) error {
	if docs == nil || ready == nil {
		return errors.New("metadata server: Start needs documents and a ready marker")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handler != nil {
		return errors.New("metadata server: started twice")
	}
	s.handler = &router{docs: docs, ready: ready, limit: s.limit, log: s.o.Log, observe: s.o.Observe}
	for l := range s.waiting {
		delete(s.waiting, l)
		s.serveLocked(l)
	}
	return nil
}

// ServeMetadata serves ln as networkID's metadata listener until the returned stop is called (the
// network goes down) or the server closes; stop closes ln and the connections it accepted, and
// waits for them.
func (s *Server) ServeMetadata(networkID string, ln net.Listener) (stop func()) {
	l := &netListener{networkID: networkID, ln: ln}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		ln.Close()
	case s.handler == nil:
		s.waiting[l] = true
	default:
		s.serveLocked(l)
	}
	return func() { s.stop(l) }
}

// serveLocked starts l's HTTP server; s.mu is held.
func (s *Server) serveLocked(l *netListener) {
	capped := ratelimit.NewConnCap(l.ln, s.o.MaxConnsPerSource, s.o.MaxConns, nil)
	l.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderSize,
		ConnState:         capped.TrackState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return WithCaller(ctx, Caller{NetworkID: l.networkID, Addr: peerAddr(c)})
		},
		ErrorLog: log.New(errorLogWriter{s.o.Log, l.networkID}, "", 0),
	}
	l.done = make(chan struct{})
	s.serving[l] = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(l.done)
		if err := l.srv.Serve(capped); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.o.Log.Warn("metadata server stopped", "network", l.networkID, "err", err)
		}
	}()
}

func (s *Server) stop(l *netListener) {
	s.mu.Lock()
	delete(s.waiting, l)
	delete(s.serving, l)
	s.mu.Unlock()
	l.close()
}

func (l *netListener) close() {
	if l.srv == nil {
		l.ln.Close()
		return
	}
	// Shutdown closes the listener and idle connections and waits for answers in flight (catalog
	// reads: quick), so none outlives the services it reads; Close ends whatever is left.
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	l.srv.Shutdown(ctx)
	l.srv.Close()
	<-l.done
}

// Close stops every listener and waits for their servers.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*netListener, 0, len(s.waiting)+len(s.serving))
	for l := range s.waiting {
		all = append(all, l)
	}
	for l := range s.serving {
		all = append(all, l)
	}
	clear(s.waiting)
	clear(s.serving)
	s.mu.Unlock()
	for _, l := range all {
		l.close()
	}
	s.wg.Wait()
}

// errorLogWriter sends net/http's own complaints (bad requests, TLS probes) to the debug log: a
// guest can cause them at will.
type errorLogWriter struct {
	log       *slog.Logger
	networkID string
}

func (w errorLogWriter) Write(p []byte) (int, error) {
	w.log.Debug("metadata http", "network", w.networkID, "msg", clip(string(p)))
	return len(p), nil
}
