package qmp_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// waitLong bounds anything a test waits for that should happen promptly.
const waitLong = 5 * time.Second

// dial connects to srv; t.Cleanup closes the monitor.
func dial(t *testing.T, srv *qmptest.Server) *qmp.Monitor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	m, err := qmp.Dial(ctx, srv.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

// nextEvent returns the next event, failing if none comes or the channel is closed.
func nextEvent(t *testing.T, events <-chan qmp.Event) qmp.Event {
	t.Helper()
	select {
	case e, ok := <-events:
		if !ok {
			t.Fatal("event channel closed")
		}
		return e
	case <-time.After(waitLong):
		t.Fatal("no event")
	}
	panic("unreachable")
}

// waitEvent skips events until one named name.
func waitEvent(t *testing.T, events <-chan qmp.Event, name string) qmp.Event {
	t.Helper()
	for {
		if e := nextEvent(t, events); e.Name == name {
			return e
		}
	}
}

// expectClosed fails unless events is closed with nothing left in it.
func expectClosed(t *testing.T, events <-chan qmp.Event) {
	t.Helper()
	select {
	case e, ok := <-events:
		if ok {
			t.Fatalf("got event %s after the end, want the channel closed", e.Name)
		}
	case <-time.After(waitLong):
		t.Fatal("event channel not closed")
	}
}

// monitorGoroutines lists the stacks of goroutines running the qmp package's code.
func monitorGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "cloudlet/appliance/qemu/qmp.") {
			out = append(out, g)
		}
	}
	return out
}

// checkNoMonitorGoroutines is called right after Close. No goroutine may still be blocked in the
// monitor's code (a waiter not woken, a goroutine not waited for); runnable ones are finishing
// (past WaitGroup.Done, or a caller returning ErrClosed) and must be gone promptly.
func checkNoMonitorGoroutines(t *testing.T) {
	t.Helper()
	for _, g := range monitorGoroutines() {
		if header, _, _ := strings.Cut(g, "\n"); !strings.Contains(header, "[runnable]") && !strings.Contains(header, "[running]") {
			t.Errorf("goroutine blocked after Close:\n%s", g)
		}
	}
	deadline := time.Now().Add(waitLong)
	for left := monitorGoroutines(); len(left) > 0; left = monitorGoroutines() {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(time.Millisecond)
	}
}

// checkEventsEndedNow is called right after Close: the event channel holds at most
// EventDisconnected and is closed already, without waiting for anything.
func checkEventsEndedNow(t *testing.T, m *qmp.Monitor) {
	t.Helper()
	for i := 0; ; i++ {
		select {
		case e, ok := <-m.Events():
			if !ok {
				return
			}
			if i > 0 || e.Name != qmp.EventDisconnected {
				t.Errorf("event %d after Close = %s, want only %s", i, e.Name, qmp.EventDisconnected)
			}
		default:
			t.Fatal("event channel not closed when Close returned")
		}
	}
}
