package webhook

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// deliveryLog is a webhook's last attempts: a ring of at most size entries, kept in memory (a
// restart empties it).
type deliveryLog struct {
	mu      sync.Mutex
	size    int
	entries []Delivery
	tally   *prometheus.CounterVec
}

func (l *deliveryLog) add(d Delivery) {
	l.tally.WithLabelValues(d.Outcome).Inc()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= l.size {
		l.entries = slices.Delete(l.entries, 0, len(l.entries)-l.size+1)
	}
	l.entries = append(l.entries, d)
}

func (l *deliveryLog) list() []Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Delivery{}, l.entries...)
}

// logOf returns the delivery log of webhook id, making it if need be.
func (s *Service) logOf(id string) *deliveryLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logLocked(id)
}

// logLocked is logOf with s.mu held.
func (s *Service) logLocked(id string) *deliveryLog {
	l := s.logs[id]
	if l == nil {
		l = &deliveryLog{size: s.opts.LogSize, tally: s.tally}
		s.logs[id] = l
	}
	return l
}

// forget stops the worker of a deleted webhook and drops its log.
func (s *Service) forget(id string) {
	s.mu.Lock()
	w := s.workers[id]
	delete(s.workers, id)
	delete(s.logs, id)
	s.gone[id] = true
	s.mu.Unlock()
	if w != nil {
		w.cancel()
	}
}
