package qmp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// TestEventsAreQueuedFromDial: events sent before the first Events() call, and while nobody
// reads, are all delivered in order, and commands are answered meanwhile.
func TestEventsAreQueuedFromDial(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	const n = 1000
	for i := range n {
		srv.Emit("X_TEST", map[string]int{"seq": i})
	}
	for range 3 { // replies overtake the unread events
		if _, err := m.QueryStatus(testContext(t)); err != nil {
			t.Fatal(err)
		}
	}
	events := m.Events()
	if m.Events() != events {
		t.Error("Events() returned a different channel on the second call")
	}
	for i := range n {
		e := nextEvent(t, events)
		var data struct{ Seq int }
		if err := json.Unmarshal(e.Data, &data); err != nil || e.Name != "X_TEST" || data.Seq != i {
			t.Fatalf("event %d = %s %s (%v), want X_TEST seq %d", i, e.Name, e.Data, err, i)
		}
	}
}

func TestEventFields(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	before := time.Now().Truncate(time.Microsecond)
	srv.Emit(qmp.EventShutdown, map[string]any{"guest": true, "reason": "guest-shutdown"})
	srv.Emit(qmp.EventStop, nil)
	e := nextEvent(t, m.Events())
	if e.Name != qmp.EventShutdown || string(e.Data) != `{"guest":true,"reason":"guest-shutdown"}` {
		t.Errorf("event = %s %s", e.Name, e.Data)
	}
	if e.Time.Before(before) || e.Time.After(time.Now()) {
		t.Errorf("event time %v, want QEMU's timestamp, after %v", e.Time, before)
	}
	if e := nextEvent(t, m.Events()); e.Name != qmp.EventStop || e.Data != nil {
		t.Errorf("event = %s %s, want STOP without data", e.Name, e.Data)
	}
}

// TestEventDisconnected: the end of the connection is the last event, then the channel closes.
func TestEventDisconnected(t *testing.T) {
	for _, tc := range []struct {
		name      string
		end       func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor)
		wantError string // substring of Data's "error"; "" for no data
	}{
		{"server drops the connection", func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor) {
			srv.Disconnect()
		}, ""},
		{"quit", func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor) {
			if err := m.Quit(testContext(t)); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"Close", func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor) {
			m.Close()
		}, ""},
		{"command timed out", func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor) {
			srv.Hang(true)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			m.Cont(ctx)
		}, "qmp cont: context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := qmptest.New(t)
			m := dial(t, srv)
			srv.Emit(qmp.EventStop, nil)
			if _, err := m.QueryStatus(testContext(t)); err != nil { // STOP is queued by now
				t.Fatal(err)
			}
			tc.end(t, srv, m)
			events := m.Events()
			e := waitEvent(t, events, qmp.EventDisconnected)
			checkDisconnected(t, e, tc.wantError)
			expectClosed(t, events)
			<-m.Done()
		})
	}
}

func checkDisconnected(t *testing.T, e qmp.Event, wantError string) {
	t.Helper()
	if wantError == "" {
		if e.Data != nil {
			t.Errorf("%s data = %s, want none", e.Name, e.Data)
		}
		return
	}
	var data struct{ Error string }
	if err := json.Unmarshal(e.Data, &data); err != nil || !strings.Contains(data.Error, wantError) {
		t.Errorf("%s data = %s, want an error containing %q", e.Name, e.Data, wantError)
	}
}

// TestEventsBeforeDisconnectAreKept: a connection that ends on its own keeps every event for
// the consumer, then EventDisconnected.
func TestEventsBeforeDisconnectAreKept(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	if err := m.Cont(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if err := m.Quit(testContext(t)); err != nil {
		t.Fatal(err)
	}
	<-m.Done()
	var got []string
	for e := range m.Events() {
		got = append(got, e.Name)
	}
	want := []string{qmp.EventResume, qmp.EventShutdown, qmp.EventDisconnected}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestParseShutdown(t *testing.T) {
	for _, tc := range []struct {
		event   qmp.Event
		want    qmp.ShutdownData
		wantErr bool
	}{
		{qmp.Event{Name: qmp.EventShutdown, Data: json.RawMessage(`{"guest":true,"reason":"guest-shutdown"}`)},
			qmp.ShutdownData{Guest: true, Reason: "guest-shutdown"}, false},
		{qmp.Event{Name: qmp.EventShutdown, Data: json.RawMessage(`{"guest":false,"reason":"host-qmp-quit"}`)},
			qmp.ShutdownData{Guest: false, Reason: "host-qmp-quit"}, false},
		{qmp.Event{Name: qmp.EventReset, Data: json.RawMessage(`{"guest":true,"reason":"guest-reset"}`)},
			qmp.ShutdownData{}, true},
		{qmp.Event{Name: qmp.EventShutdown, Data: json.RawMessage(`[]`)}, qmp.ShutdownData{}, true},
		{qmp.Event{Name: qmp.EventShutdown}, qmp.ShutdownData{}, true},
	} {
		t.Run(fmt.Sprintf("%s %s", tc.event.Name, tc.event.Data), func(t *testing.T) {
			got, err := qmp.ParseShutdown(tc.event)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseShutdown = %v, want error: %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("ParseShutdown = %+v, want %+v", got, tc.want)
			}
		})
	}
}
