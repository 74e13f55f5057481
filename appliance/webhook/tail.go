package webhook

import (
	"time"

	"cloudlet/store"
)

// target is what a worker needs of a webhook to deliver to it.
type target struct {
	id, projectID, url, secret string
	events                     []string
	fromSeq                    uint64
}

// cursor is the tailer's place in the event log: the last Seq queued, and what was saved of it.
type cursor struct {
	seq, saved uint64
	savedAt    time.Time
}

// due is when an unsaved cursor is to be saved; nil when it is saved.
func (c *cursor) due() <-chan time.Time {
	if c.seq == c.saved {
		return nil
	}
	return time.After(cursorEvery - time.Since(c.savedAt))
}

// tail reads the event log from the saved cursor until Close, queueing each event to the webhooks
// it matches. It saves the cursor at most every cursorEvery (one catalog write, not one per
// batch), when idle, and when it stops. It never waits on a delivery.
func (s *Service) tail() {
	seq, err := s.readCursor()
	if err != nil {
		s.log.Error("webhooks: cannot read the event cursor; deliveries stopped", "error", err)
		return
	}
	c := &cursor{seq: seq, saved: seq}
	defer s.saveCursor(c, 0)
	for {
		s.saveCursor(c, cursorEvery)
		appended := s.db.EventsAppended() // before reading: a later commit closes it
		n, err := s.step(c)
		switch {
		case err != nil:
			s.log.Error("webhooks: read the event log", "error", err)
			if !s.pause(time.Second) {
				return
			}
		case n == 0:
			select {
			case <-appended:
			case <-c.due():
			case <-s.ctx.Done():
				return
			}
		}
	}
}

// step queues the next batch of events to the webhooks they match and moves c past them; it
// returns how many there were. On an error c stays where it was.
func (s *Service) step(c *cursor) (int, error) {
	events, err := s.db.EventsSince(c.seq, tailBatch)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	targets, err := s.targets()
	if err != nil {
		return 0, err
	}
	for _, e := range events {
		for _, t := range targets {
			if t.projectID == e.ProjectID && e.Seq > t.fromSeq && matches(t.events, e.Type) {
				if w := s.workerFor(t); w != nil {
					w.enqueue(e)
				}
			}
		}
	}
	c.seq = events[len(events)-1].Seq
	return len(events), nil
}

// saveCursor writes c when it moved and was last saved at least every ago.
func (s *Service) saveCursor(c *cursor, every time.Duration) {
	if c.seq == c.saved || time.Since(c.savedAt) < every {
		return
	}
	if err := s.db.Update(func(tx *store.Tx) error { return store.WriteCursor(tx, cursorName, c.seq) }); err != nil {
		s.log.Error("webhooks: save the event cursor", "error", err)
		return
	}
	c.saved, c.savedAt = c.seq, time.Now()
}

func (s *Service) readCursor() (seq uint64, err error) {
	err = s.db.View(func(tx *store.Tx) error {
		seq, err = store.ReadCursor(tx, cursorName)
		return err
	})
	return seq, err
}

// targets reads every webhook with its secret.
func (s *Service) targets() ([]target, error) {
	var out []target
	err := s.db.View(func(tx *store.Tx) error {
		return webhooks.ForEach(tx, func(r *record) error {
			sec, err := secrets.Get(tx, r.ID)
			if err != nil {
				return err
			}
			out = append(out, target{id: r.ID, projectID: r.ProjectID, url: r.URL, secret: sec.Secret,
				events: r.Events, fromSeq: r.FromSeq})
			return nil
		})
	})
	return out, err
}

// pause waits d, or less if the service closes; false when it closed.
func (s *Service) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}
