package store

import "sync"

// eventSignal wakes the readers of the event log: its channel is closed, and replaced, after each
// commit that appended an event.
type eventSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *eventSignal) current() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *eventSignal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// EventsAppended returns a channel closed after the next commit that appends an event. Take it
// before reading the log with EventsSince: an event committed after that read then always closes
// the channel taken before it, so a reader that waits on it misses nothing.
func (db *DB) EventsAppended() <-chan struct{} { return db.events.current() }
