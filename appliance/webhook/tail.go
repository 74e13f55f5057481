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

// tail reads the event log from the saved cursor until Close, queueing each event to the webhooks
// it matches. It saves the cursor at most every cursorEvery (one catalog write, not one per
// batch) and when it stops. It never waits on a delivery.
func (s *Service) tail() {
	cursor, err := s.readCursor()
	if err != nil {
		s.log.Error("webhooks: cannot read the event cursor; deliveries stopped", "error", err)
		return
	}
	saved, savedAt := cursor, time.Time{}
	defer func() {
		if cursor != saved {
			s.saveCursor(cursor)
		}
	}()
	for {
		if cursor != saved && time.Since(savedAt) >= cursorEvery {
			s.saveCursor(cursor)
			saved, savedAt = cursor, time.Now()
		}
		appended := s.db.EventsAppended() // before reading: a later commit closes it
		events, err := s.db.EventsSince(cursor, tailBatch)
		if err != nil {
			s.log.Error("webhooks: read the event log", "error", err)
			if !s.pause(time.Second) {
				return
			}
			continue
		}
		if len(events) > 0 {
			cursor = s.dispatch(events)
			continue
		}
		var due <-chan time.Time // an unsaved cursor is saved when idle too
		if cursor != saved {
			due = time.After(cursorEvery - time.Since(savedAt))
		}
		select {
		case <-appended:
		case <-due:
		case <-s.ctx.Done():
			return
		}
	}
}

// dispatch queues events to the webhooks they match and returns the Seq of the last.
func (s *Service) dispatch(events []store.Event) uint64 {
	targets, err := s.targets()
	if err != nil {
		s.log.Error("webhooks: read the webhooks", "error", err)
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
	return events[len(events)-1].Seq
}

func (s *Service) saveCursor(seq uint64) {
	if err := s.db.Update(func(tx *store.Tx) error { return store.WriteCursor(tx, cursorName, seq) }); err != nil {
		s.log.Error("webhooks: save the event cursor", "error", err)
	}
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
