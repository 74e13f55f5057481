package qmp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

func TestDialHandshake(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	if got, want := m.Version(), "7.2.22"; got != want {
		t.Errorf("Version() = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"qmp_capabilities"}, srv.Commands()); diff != "" {
		t.Errorf("commands during Dial (-want +got):\n%s", diff)
	}
	select {
	case <-m.Done():
		t.Error("Done() closed on a live monitor")
	default:
	}
}

func TestDialTimesOutWhenServerHangsBeforeGreeting(t *testing.T) {
	srv := qmptest.New(t)
	srv.Hang(true)
	const deadline = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	m, err := qmp.Dial(ctx, srv.Path())
	if elapsed := time.Since(start); elapsed > deadline+time.Second {
		t.Errorf("Dial took %v with a %v deadline", elapsed, deadline)
	}
	if m != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, %v; want nil, an error wrapping context.DeadlineExceeded", m, err)
	}
	if !strings.Contains(err.Error(), srv.Path()) || !strings.Contains(err.Error(), "greeting") {
		t.Errorf("error %q should name the socket and the greeting", err)
	}
	checkNoMonitorGoroutines(t) // a failed Dial closes what it started
}

func TestDialTimesOutWhenNegotiationHangs(t *testing.T) {
	srv := qmptest.New(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's own cleanup
	srv.Handle("qmp_capabilities", func(json.RawMessage) (any, *qmptest.Error) {
		<-release
		return nil, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	m, err := qmp.Dial(ctx, srv.Path())
	if m != nil || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, qmp.ErrClosed) {
		t.Fatalf("Dial = %v, %v; want nil, an error wrapping DeadlineExceeded and ErrClosed", m, err)
	}
	if !strings.Contains(err.Error(), "qmp_capabilities") {
		t.Errorf("error %q should name qmp_capabilities", err)
	}
}

func TestDialErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.sock")
	refused := qmptest.New(t)
	refused.Handle("qmp_capabilities", func(json.RawMessage) (any, *qmptest.Error) {
		return nil, &qmptest.Error{Class: "GenericError", Desc: "no"}
	})
	for _, tc := range []struct {
		name, path string
		check      func(error) bool
	}{
		{"no socket", missing, func(err error) bool { return strings.Contains(err.Error(), "no such file") }},
		{"negotiation refused", refused.Path(), func(err error) bool {
			var qe *qmp.Error
			return errors.As(err, &qe) && qe.Class == "GenericError" && qe.Command == "qmp_capabilities"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := qmp.Dial(testContext(t), tc.path)
			if err == nil {
				m.Close()
				t.Fatal("Dial succeeded")
			}
			if !strings.Contains(err.Error(), tc.path) || !tc.check(err) {
				t.Errorf("Dial error %q: want it to name %s and match the case", err, tc.path)
			}
		})
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	m := dial(t, qmptest.New(t))
	for i := range 3 {
		if err := m.Close(); err != nil {
			t.Errorf("Close #%d = %v", i+1, err)
		}
	}
	<-m.Done()
	if err := m.Cont(testContext(t)); !errors.Is(err, qmp.ErrClosed) {
		t.Errorf("Cont after Close = %v, want ErrClosed", err)
	}
}

func TestCloseUnblocksExecute(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	srv.Hang(true)
	errc := make(chan error, 1)
	go func() { errc <- m.Execute(context.Background(), "query-status", nil, nil) }()
	if err := srv.WaitCommand(testContext(t), "query-status"); err != nil {
		t.Fatal(err)
	}
	m.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, qmp.ErrClosed) {
			t.Errorf("Execute = %v, want ErrClosed", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Execute still blocked after Close")
	}
}

// TestCloseLeavesNoGoroutines: Close returns only after every goroutine the monitor started has
// ended, whatever state the connection and the event consumer are in.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor)
	}{
		{"idle", func(*testing.T, *qmptest.Server, *qmp.Monitor) {}},
		{"unread events", func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor) {
			for range 100 {
				srv.Emit(qmp.EventStop, nil)
			}
			if _, err := m.QueryStatus(testContext(t)); err != nil { // the events are in by now
				t.Fatal(err)
			}
		}},
		{"server gone, events unread", func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor) {
			srv.Emit(qmp.EventStop, nil)
			srv.Disconnect()
			<-m.Done()
		}},
		{"broken by a timeout", func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor) {
			srv.Hang(true)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			m.Cont(ctx)
		}},
		{"command in flight", func(t *testing.T, srv *qmptest.Server, m *qmp.Monitor) {
			srv.Hang(true)
			go m.Cont(context.Background())
			srv.WaitCommand(testContext(t), "cont")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := qmptest.New(t)
			m := dial(t, srv)
			tc.setup(t, srv, m)
			m.Close()
			checkEventsEndedNow(t, m)
			checkNoMonitorGoroutines(t)
		})
	}
}

func TestTranscript(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	if _, err := m.QueryStatus(testContext(t)); err != nil {
		t.Fatal(err)
	}
	got := m.Transcript()
	want := []string{
		`<- {"QMP":`,
		`-> {"execute":"qmp_capabilities","id":"cloudlet-1"}`,
		`<- {"return":{},"id":"cloudlet-1"}`,
		`-> {"execute":"query-status","id":"cloudlet-2"}`,
		`<- {"return":{"running":false,"singlestep":false,"status":"prelaunch"},"id":"cloudlet-2"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("transcript has %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d = %s, want %s…", i, got[i], want[i])
		}
	}
}

func TestTranscriptKeepsTheLastLines(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	stops := qmp.TranscriptLines // two lines each: the transcript wraps
	for range stops {
		if err := m.Stop(testContext(t)); err != nil {
			t.Fatal(err)
		}
	}
	got := m.Transcript()
	if len(got) != qmp.TranscriptLines {
		t.Fatalf("transcript has %d lines, want %d", len(got), qmp.TranscriptLines)
	}
	if last := got[len(got)-1]; !strings.Contains(last, fmt.Sprintf(`"id":"cloudlet-%d"`, stops+1)) {
		t.Errorf("last line = %s, want the reply to the last stop", last)
	}
}
