package store

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEvents(t *testing.T) {
	db := openTestDB(t)
	for i := 1; i <= 5; i++ {
		mustUpdate(t, db, func(tx *Tx) error {
			return AppendEvent(tx, &Event{Type: "instance.created", Kind: "instance", ID: fmt.Sprint(i),
				ProjectID: "p1", Data: json.RawMessage(`{"n":` + fmt.Sprint(i) + `}`)})
		})
	}
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	event := func(seq int) Event {
		return Event{Seq: uint64(seq), Time: start.Add(time.Duration(seq-1) * time.Second), Type: "instance.created",
			Kind: "instance", ID: fmt.Sprint(seq), ProjectID: "p1", Data: json.RawMessage(`{"n":` + fmt.Sprint(seq) + `}`)}
	}

	tests := []struct {
		since uint64
		limit int
		want  []Event
	}{
		{0, 0, []Event{event(1), event(2), event(3), event(4), event(5)}},
		{0, 2, []Event{event(1), event(2)}},
		{3, 0, []Event{event(4), event(5)}},
		{5, 0, []Event{}},
		{^uint64(0), 0, []Event{}},
	}
	for _, tt := range tests {
		got, err := db.EventsSince(tt.since, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("EventsSince(%d, %d) (-want +got):\n%s", tt.since, tt.limit, diff)
		}
	}
}

func TestPruneEvents(t *testing.T) {
	db := openTestDB(t)
	appendN := func(n int) {
		mustUpdate(t, db, func(tx *Tx) error {
			for range n {
				if err := AppendEvent(tx, &Event{Type: "tick"}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	appendN(10)

	tests := []struct {
		keep, wantPruned int
		wantFirst        uint64
	}{
		{20, 0, 1},
		{10, 0, 1},
		{3, 7, 8},
		{3, 0, 8},
		{0, 3, 0},
	}
	for _, tt := range tests {
		var pruned int
		mustUpdate(t, db, func(tx *Tx) (err error) {
			pruned, err = PruneEvents(tx, tt.keep)
			return err
		})
		events, _ := db.EventsSince(0, 0)
		if pruned != tt.wantPruned || len(events) > tt.keep || len(events) > 0 && events[0].Seq != tt.wantFirst {
			t.Errorf("PruneEvents(keep %d) pruned %d (want %d), left %d events", tt.keep, pruned, tt.wantPruned, len(events))
		}
	}

	appendN(1)
	events, _ := db.EventsSince(0, 0)
	if len(events) != 1 || events[0].Seq != 11 {
		t.Errorf("after pruning everything, the next event is %+v; want seq 11 (never reused)", events)
	}
	err := db.Update(func(tx *Tx) error { _, err := PruneEvents(tx, -1); return err })
	wantErr(t, "PruneEvents(-1)", err, ErrInvalid)
	err = db.Update(func(tx *Tx) error { return AppendEvent(tx, &Event{}) })
	wantErr(t, "AppendEvent without a type", err, ErrInvalid)
}
