package qmp

import (
	"fmt"
	"testing"
	"time"
)

func names(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Name)
	}
	return out
}

// received reads what is left on the consumer's channel until it is closed.
func received(q *eventQueue) []Event {
	var got []Event
	for e := range q.out {
		got = append(got, e)
	}
	return got
}

func TestEventQueue(t *testing.T) {
	final := Event{Name: EventDisconnected}
	for _, tc := range []struct {
		name string
		fill func(q *eventQueue)
		halt bool
		want string
	}{
		{"all delivered, final last", func(q *eventQueue) {
			q.push(Event{Name: "A"})
			q.push(Event{Name: "B"})
			q.finish(final)
		}, false, "[A B CLOUDLET_DISCONNECTED]"},
		{"pushes after finish are dropped", func(q *eventQueue) {
			q.push(Event{Name: "A"})
			q.finish(final)
			q.push(Event{Name: "B"})
			q.finish(Event{Name: "SECOND_FINAL"})
		}, false, "[A CLOUDLET_DISCONNECTED]"},
		{"halt discards the backlog, keeps final", func(q *eventQueue) {
			q.push(Event{Name: "A"})
			q.push(Event{Name: "B"})
			q.finish(final)
		}, true, "[CLOUDLET_DISCONNECTED]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newEventQueue()
			tc.fill(q)
			if tc.halt {
				q.halt()
				q.pump() // returns at once: nobody has to read
			} else {
				go q.pump()
			}
			if got := fmt.Sprint(names(received(q))); got != tc.want {
				t.Errorf("received %s, want %s", got, tc.want)
			}
		})
	}
}

// TestEventQueueHaltWithEventInSlot: the consumer's channel already holds an event when Close
// halts the pump; the final event replaces it.
func TestEventQueueHaltWithEventInSlot(t *testing.T) {
	q := newEventQueue()
	q.push(Event{Name: "A"})
	q.push(Event{Name: "B"})
	done := make(chan struct{})
	go func() {
		q.pump()
		close(done)
	}()
	for len(q.out) == 0 { // A is in the slot; the pump blocks offering B
		time.Sleep(time.Millisecond)
	}
	q.finish(Event{Name: EventDisconnected})
	q.halt()
	<-done
	if got := fmt.Sprint(names(received(q))); got != "[CLOUDLET_DISCONNECTED]" {
		t.Errorf("received %s, want [CLOUDLET_DISCONNECTED]", got)
	}
}

func TestTranscriptRing(t *testing.T) {
	var tr transcript
	for i := range transcriptLines + 50 {
		tr.add("->", []byte(fmt.Sprint(i)))
	}
	got := tr.snapshot()
	first, last := fmt.Sprint("-> ", 50), fmt.Sprint("-> ", transcriptLines+49)
	if len(got) != transcriptLines || got[0] != first || got[transcriptLines-1] != last {
		t.Errorf("snapshot = %d lines, %q … %q; want %d, %q … %q", len(got), got[0], got[len(got)-1], transcriptLines, first, last)
	}
	tr.add("<-", make([]byte, 10000))
	if last := tr.snapshot()[transcriptLines-1]; len(last) > transcriptLineMax+100 {
		t.Errorf("a 10000-byte line is kept as %d bytes", len(last))
	}
}

// TestTranscriptOfAnInstanceStaysUnder64KiB: every running instance keeps a transcript, so a full one
// of the longest lines must stay small (200 lines of 4 KiB let it reach 800 KiB).
func TestTranscriptOfAnInstanceStaysUnder64KiB(t *testing.T) {
	var tr transcript
	for range 1000 {
		tr.add("<-", make([]byte, 100000))
	}
	size := 0
	for _, line := range tr.snapshot() {
		size += len(line)
	}
	if size > 64<<10+transcriptLines*32 { // each line's cut marker: "… (100000 bytes)"
		t.Errorf("a full transcript holds %d bytes, want at most 64 KiB and the cut markers", size)
	}
}
