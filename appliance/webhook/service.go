package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cloudlet/internal/netguard"
	"cloudlet/store"
)

// Defaults of Options.
const (
	DefaultTimeout   = 10 * time.Second // one delivery attempt, connection to answer
	DefaultAttempts  = 5                // attempts at one event
	DefaultBackoff   = 10 * time.Second // before the second attempt; doubled for each further one
	DefaultQueueSize = 100              // events waiting per webhook
	DefaultLogSize   = 100              // delivery log entries kept per webhook
	maxRedirects     = 3
	maxPerProject    = 20
	cursorName       = "webhooks"
	tailBatch        = 256
	cursorEvery      = time.Second // how often the tailer saves its cursor at most
)

// Options configure the service. Zero values take the defaults above.
type Options struct {
	DB        *store.DB
	Logger    *slog.Logger
	Guard     netguard.Guard // where deliveries may connect (the admin's webhook_allowed_cidrs in PrivateAllowed)
	Timeout   time.Duration
	Attempts  int
	Backoff   time.Duration
	QueueSize int
	LogSize   int
	Metrics   prometheus.Registerer // where cloudlet_webhook_deliveries_total goes; nil: nowhere
}

// Service keeps the webhooks and delivers events to them.
type Service struct {
	db     *store.DB
	log    *slog.Logger
	opts   Options
	check  func(network, address string) error // the guard's check of each connection; tests widen it
	client *http.Client
	tally  *prometheus.CounterVec // attempts by outcome

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	workers map[string]*worker
	logs    map[string]*deliveryLog // by webhook ID, kept while the webhook exists
	gone    map[string]bool         // deleted webhooks: the tailer may have read them just before
	started bool
}

// New returns the service; Start begins delivering.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Logger == nil {
		return nil, errors.New("webhook.New: DB and Logger are required")
	}
	o = withDefaults(o)
	s := &Service{db: o.DB, log: o.Logger, opts: o, workers: map[string]*worker{}, logs: map[string]*deliveryLog{},
		gone: map[string]bool{}}
	s.check = func(network, address string) error { return o.Guard.Control(network, address, nil) }
	s.client = s.newClient()
	var err error
	if s.tally, err = newAttemptsCounter(o.Metrics); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func withDefaults(o Options) Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.LogSize <= 0 {
		o.LogSize = DefaultLogSize
	}
	return o
}

// Start begins tailing the event log from the saved cursor. Call it once.
func (s *Service) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.tail()
	}()
}

// Close stops the tailer and every worker (an attempt in flight is canceled) and waits for them.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}
