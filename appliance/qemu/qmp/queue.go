package qmp

import "sync"

// eventQueue is unbounded: the reader pushes without ever blocking, and one pump goroutine
// feeds the consumer's channel. It ends with exactly one final event (EventDisconnected).
type eventQueue struct {
	out  chan Event    // the consumer's channel; one slot, so stop can leave the final event in it
	wake chan struct{} // one slot: something was pushed
	stop chan struct{} // closed by halt: discard what is left
	once sync.Once     // guards closing stop

	mu       sync.Mutex // guards the fields below
	items    []Event
	finished bool // the final event has been pushed; push ignores later events
	final    Event
}

func newEventQueue() *eventQueue {
	return &eventQueue{
		out:  make(chan Event, 1),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}
}

// push queues e; it never blocks.
func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	if !q.finished {
		q.items = append(q.items, e)
	}
	q.mu.Unlock()
	q.signal()
}

// finish queues the final event; later pushes and finishes are ignored.
func (q *eventQueue) finish(e Event) {
	q.mu.Lock()
	if !q.finished {
		q.finished, q.final = true, e
		q.items = append(q.items, e)
	}
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// halt makes the pump give up on delivering the backlog. Call it after finish.
func (q *eventQueue) halt() { q.once.Do(func() { close(q.stop) }) }

// pump moves queued events to out until the final one is delivered, then closes out.
func (q *eventQueue) pump() {
	defer close(q.out)
	for {
		e, last, ok := q.pop()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-q.stop:
				q.leaveFinal()
				return
			}
		}
		select {
		case q.out <- e:
			if last {
				return
			}
		case <-q.stop:
			q.leaveFinal()
			return
		}
	}
}

// pop takes the oldest event; last reports that it is the final one.
func (q *eventQueue) pop() (e Event, last, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Event{}, false, false
	}
	e, q.items = q.items[0], q.items[1:]
	return e, q.finished && len(q.items) == 0, true
}

// leaveFinal replaces whatever the consumer has not taken with the final event, so it is the last
// value the consumer receives before out is closed. The pump is out's only sender, so once the
// slot is emptied the send cannot block.
func (q *eventQueue) leaveFinal() {
	q.mu.Lock()
	final, finished := q.final, q.finished
	q.items = nil
	q.mu.Unlock()
	if !finished {
		return
	}
	select {
	case <-q.out:
	default:
	}
	q.out <- final
}
