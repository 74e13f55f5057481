package webhook

import (
	"context"
	"time"

	"cloudlet/store"
)

// worker delivers one webhook's events, one at a time, from its bounded queue: a slow or failing
// receiver delays only its own webhook.
type worker struct {
	s      *Service
	t      target
	log    *deliveryLog
	queue  chan store.Event
	ctx    context.Context // canceled when the webhook is deleted or the service closes
	cancel context.CancelFunc
}

// workerFor returns the running worker of webhook t, starting it if need be; nil when t was deleted.
func (s *Service) workerFor(t target) *worker {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone[t.id] {
		return nil
	}
	if w := s.workers[t.id]; w != nil {
		return w
	}
	w := &worker{s: s, t: t, log: s.logLocked(t.id), queue: make(chan store.Event, s.opts.QueueSize)}
	w.ctx, w.cancel = context.WithCancel(s.ctx)
	s.workers[t.id] = w
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		w.run()
	}()
	return w
}

// enqueue queues e without ever waiting: when the queue is full, e is dropped (the newest event
// goes, the queued ones keep their order) and the drop is written in the delivery log.
func (w *worker) enqueue(e store.Event) {
	select {
	case w.queue <- e:
	default:
		w.log.add(Delivery{Time: time.Now().UTC(), EventSeq: e.Seq, EventType: e.Type, Outcome: OutcomeDropped,
			Error: "the webhook's delivery queue is full"})
		w.s.log.Warn("webhook queue full: event dropped", "webhook", w.t.id, "seq", e.Seq, "type", e.Type)
	}
}

func (w *worker) run() {
	defer w.cancel()
	for {
		select {
		case <-w.ctx.Done():
			return
		case e := <-w.queue:
			w.deliver(e)
		}
	}
}

// deliver tries e up to Options.Attempts times, waiting Backoff, 2×Backoff, 4×Backoff, … between.
func (w *worker) deliver(e store.Event) {
	body, id := eventBody(e), store.NewID()
	for attempt := 1; ; attempt++ {
		d := w.s.attempt(w.ctx, w.t, e, body, id, attempt)
		last := attempt >= w.s.opts.Attempts || w.ctx.Err() != nil
		if d.Outcome == OutcomeRetrying && last {
			d.Outcome = OutcomeFailed
		}
		w.log.add(d)
		if d.Outcome != OutcomeRetrying || !w.wait(w.s.opts.Backoff<<(attempt-1)) {
			return
		}
	}
}

// wait sleeps d unless the worker stops first; false when it stopped.
func (w *worker) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.ctx.Done():
		return false
	}
}
