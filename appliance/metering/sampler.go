package metering

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultInterval    = 10 * time.Second
	DefaultCoarse      = 5 * time.Minute
	DefaultConcurrency = 4
)

// Instance is what the sampler needs to know of one instance, from the catalog.
type Instance struct {
	ID, Name, ProjectID string
	PID                 int    // QEMU's pid; 0 when no QEMU runs
	PIDStart            uint64 // its /proc start time (field 22), guarding against PID reuse
	Taps                []string
	// Busy: a task runs on the instance (a stop, reboot, snapshot…) and holds its supervisor, which
	// would answer BlockStats only after it. It is not asked meanwhile; its sample ages.
	Busy bool
}

// BlockStat is one drive's counters since its QEMU started.
type BlockStat struct {
	Drive      string `json:"drive"`
	ReadBytes  uint64 `json:"read_bytes"`
	WriteBytes uint64 `json:"write_bytes"`
	ReadOps    uint64 `json:"read_ops"`
	WriteOps   uint64 `json:"write_ops"`
}

// Compute is what the sampler needs of compute: the instances, and a running one's drive counters
// through its QMP connection (a call that may wait on a busy or frozen QEMU until ctx ends).
type Compute interface {
	Instances(ctx context.Context) ([]Instance, error)
	BlockStats(ctx context.Context, id string) ([]BlockStat, error)
}

// Options configure a Sampler.
type Options struct {
	Compute  Compute
	Log      *slog.Logger
	Interval time.Duration // how often every running instance is sampled; default 10s
	// Timeout bounds the wait for one QEMU's drive counters; default Interval. One that does not
	// answer keeps its previous sample (which ages) and is asked again in a later round.
	Timeout     time.Duration
	Concurrency int           // QMP requests in flight at once; default 4
	Coarse      time.Duration // the day series' step; default 5 minutes
	Proc        string        // procfs root; default /proc
	// Links reads a tap's counters; default netlink (linkstats.go).
	Links func(name string) (NICStat, error)
	Now   func() time.Time
}

func (o *Options) defaults() {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = o.Interval
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Coarse <= 0 {
		o.Coarse = DefaultCoarse
	}
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Links == nil {
		o.Links = netlinkStats
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Sampler takes the samples and keeps the cache and the history. Its methods are safe for
// concurrent use; the readers (Collect, Stats, HostStats) only take the lock over the cache.
type Sampler struct {
	o   Options
	sem chan struct{} // bounds the QMP requests in flight

	mu        sync.Mutex
	instances map[string]*tracked
	host      hostState

	cancel context.CancelFunc
	wg     sync.WaitGroup

	afterSample func(id string) // tests: called after each attempt to sample an instance
}

// tracked is one instance the sampler knows.
type tracked struct {
	inst   Instance
	sample *Sample  // the last complete sample of the running QEMU; nil while none runs
	busy   bool     // a sample is being taken
	hist   *history // made at the first rate, dropped with the instance
}

// New returns a sampler; Start begins sampling.
func New(o Options) (*Sampler, error) {
	if o.Compute == nil {
		return nil, errors.New("metering.New: Compute is required")
	}
	o.defaults()
	return &Sampler{o: o, sem: make(chan struct{}, o.Concurrency), instances: map[string]*tracked{}}, nil
}

// Start runs the sampling loop in one goroutine until Close.
func (s *Sampler) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.loop(ctx)
	}()
}

// Close stops sampling and waits for the loop and every sample in progress.
func (s *Sampler) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// Interval is the sampling interval, the step of the hour series.
func (s *Sampler) Interval() time.Duration { return s.o.Interval }

func (s *Sampler) loop(ctx context.Context) {
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	for {
		s.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round forgets deleted instances, records the host's figures and starts one sample of every
// running instance not still being sampled. It does not wait for the samples: each is stored when taken.
func (s *Sampler) Round(ctx context.Context) {
	list, err := s.o.Compute.Instances(ctx)
	if err != nil {
		s.o.Log.Warn("metering: list instances", "error", err)
		return
	}
	start := s.track(list)
	s.recordHost() // before this round's samples: it sums the last rates each instance has
	for _, inst := range start {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.sampleOne(ctx, inst)
		}()
	}
}

// track updates the instances known from list and returns those to sample now.
func (s *Sampler) track(list []Instance) []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]bool, len(list))
	var start []Instance
	for _, inst := range list {
		seen[inst.ID] = true
		t := s.instances[inst.ID]
		if t == nil {
			t = &tracked{}
			s.instances[inst.ID] = t
		}
		t.inst = inst
		if inst.PID == 0 {
			t.sample = nil
			continue
		}
		if !t.busy && !inst.Busy {
			t.busy = true
			start = append(start, inst)
		}
	}
	for id := range s.instances {
		if !seen[id] {
			delete(s.instances, id) // deleted: its history goes with it
		}
	}
	return start
}

// sampleOne takes one instance's sample: the drive counters first (the part that may wait), then
// /proc and the taps, so the figures of a sample are read together. A QEMU that did not answer in
// time, or is no longer the one recorded, leaves the cached sample as it was.
func (s *Sampler) sampleOne(ctx context.Context, inst Instance) {
	if s.afterSample != nil {
		defer s.afterSample(inst.ID)
	}
	sample, err := s.take(ctx, inst)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.instances[inst.ID]
	if t == nil {
		return
	}
	t.busy = false
	if err != nil {
		if ctx.Err() == nil {
			s.o.Log.Debug("metering: sample", "instance", inst.ID, "error", err)
		}
		return
	}
	if t.inst.PID != inst.PID || t.inst.PIDStart != inst.PIDStart {
		return // stopped or restarted while sampled
	}
	s.store(t, sample)
}

func (s *Sampler) take(ctx context.Context, inst Instance) (*Sample, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	bctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	drives, err := s.o.Compute.BlockStats(bctx, inst.ID)
	cancel()
	<-s.sem
	if err != nil {
		return nil, err
	}
	p, err := readProcess(s.o.Proc, inst.PID, inst.PIDStart)
	if err != nil {
		return nil, err
	}
	sample := &Sample{Time: s.o.Now(), PIDStart: inst.PIDStart, CPUSeconds: p.cpuSeconds, RSSBytes: p.rssBytes, Drives: drives}
	for _, tap := range inst.Taps {
		st, err := s.o.Links(tap)
		if err != nil {
			return nil, fmt.Errorf("tap %s: %w", tap, err)
		}
		sample.NICs = append(sample.NICs, st)
	}
	return sample, nil
}

// store makes sample the instance's cached one and adds the rates since the previous one to its
// history. A new QEMU (other start time) restarts the counters: no rate spans the two.
func (s *Sampler) store(t *tracked, sample *Sample) {
	prev := t.sample
	t.sample = sample
	if prev == nil || prev.PIDStart != sample.PIDStart || !sample.Time.After(prev.Time) {
		return
	}
	if t.hist == nil {
		t.hist = newHistory(s.o.Interval, s.o.Coarse)
	}
	t.hist.add(rates(prev, sample))
}
