package store

import (
	"errors"
	"testing"
)

func TestEventsAppendedIsClosedOnlyByACommitThatAppendedAnEvent(t *testing.T) {
	db := openTestDB(t)
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := db.EventsAppended()
	mustUpdate(t, db, func(tx *Tx) error { return nil })
	if closed(ch) {
		t.Fatal("a commit without an event woke the readers")
	}
	boom := errors.New("boom")
	err := db.Update(func(tx *Tx) error {
		if err := AppendEvent(tx, &Event{Type: "tick"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	if closed(ch) {
		t.Fatal("a rolled-back event woke the readers")
	}
	mustUpdate(t, db, func(tx *Tx) error { return AppendEvent(tx, &Event{Type: "tick"}) })
	if !closed(ch) {
		t.Fatal("a committed event did not close the channel taken before it")
	}
	if next := db.EventsAppended(); closed(next) {
		t.Fatal("the next channel is closed before another event")
	}
}
