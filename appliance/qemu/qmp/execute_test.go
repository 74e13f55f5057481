package qmp_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// echo answers with the arguments it was given, or "no arguments".
func echo(args json.RawMessage) (any, *qmptest.Error) {
	if args == nil {
		return "no arguments", nil
	}
	return args, nil
}

func TestExecuteDecodesResult(t *testing.T) {
	srv := qmptest.New(t)
	srv.Handle("x-echo", echo)
	big := strings.Repeat("x", 300<<10) // query-qmp-schema is over 100 KiB; lines are not limited
	srv.Handle("query-qmp-schema", func(json.RawMessage) (any, *qmptest.Error) {
		return []map[string]string{{"name": big}}, nil
	})
	m := dial(t, srv)
	for _, tc := range []struct {
		name, command string
		args          any
		result        any // a pointer to decode into, nil to ignore the return
		want          any
	}{
		{"struct", "query-status", nil, &qmp.Status{}, &qmp.Status{Status: "prelaunch"}},
		{"raw map", "query-status", nil, &map[string]any{},
			&map[string]any{"status": "prelaunch", "running": false, "singlestep": false}},
		{"no arguments", "x-echo", nil, new(string), ptr("no arguments")},
		{"arguments", "x-echo", map[string]any{"id": "net0", "n": 3}, &map[string]any{},
			&map[string]any{"id": "net0", "n": 3.0}},
		{"nil map is no arguments", "x-echo", map[string]any(nil), new(string), ptr("no arguments")},
		{"return ignored", "query-status", nil, nil, nil},
		{"large reply", "query-qmp-schema", nil, &[]map[string]string{}, &[]map[string]string{{"name": big}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := m.Execute(testContext(t), tc.command, tc.args, tc.result); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.result); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestExecuteReturnsQEMUError(t *testing.T) {
	srv := qmptest.New(t)
	srv.Handle("device_del", func(json.RawMessage) (any, *qmptest.Error) {
		return nil, &qmptest.Error{Class: "DeviceNotFound", Desc: "Device 'net9' not found"}
	})
	m := dial(t, srv)
	for _, tc := range []struct {
		command string
		want    qmp.Error
	}{
		{"x-no-such-command", qmp.Error{Command: "x-no-such-command", Class: "CommandNotFound",
			Desc: "The command x-no-such-command has not been found"}},
		{"device_del", qmp.Error{Command: "device_del", Class: "DeviceNotFound", Desc: "Device 'net9' not found"}},
		{"getfd", qmp.Error{Command: "getfd", Class: "GenericError", Desc: "Parameter 'fdname' is missing"}},
	} {
		t.Run(tc.command, func(t *testing.T) {
			err := m.Execute(testContext(t), tc.command, nil, nil)
			var got *qmp.Error
			if !errors.As(err, &got) {
				t.Fatalf("Execute = %v, want a *qmp.Error", err)
			}
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if want := "qmp " + tc.want.Command + ": " + tc.want.Class + ": " + tc.want.Desc; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
	if _, err := m.QueryStatus(testContext(t)); err != nil {
		t.Errorf("an error reply must leave the monitor usable: %v", err)
	}
}

func TestExecuteDeadlineBreaksMonitor(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	srv.Hang(true)
	const deadline = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	_, err := m.QueryStatus(ctx)
	if elapsed := time.Since(start); elapsed > deadline+time.Second {
		t.Errorf("QueryStatus took %v with a %v deadline", elapsed, deadline)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, qmp.ErrClosed) {
		t.Fatalf("QueryStatus = %v, want an error wrapping DeadlineExceeded and ErrClosed", err)
	}
	if !strings.Contains(err.Error(), "query-status") {
		t.Errorf("error %q should name the command", err)
	}
	select {
	case <-m.Done():
	case <-time.After(waitLong):
		t.Fatal("Done() not closed after a timed-out command")
	}
	srv.Hang(false)
	if err := m.Cont(testContext(t)); !errors.Is(err, qmp.ErrClosed) {
		t.Errorf("Cont after the break = %v, want ErrClosed", err)
	}
	if got, want := srv.Commands(), []string{"qmp_capabilities", "query-status"}; !cmp.Equal(got, want) {
		t.Errorf("server got %v, want %v: a broken monitor must not send", got, want)
	}
}

// TestExecuteWaitsForTheCommandInFlight: one command at a time; waiting for the slot is bounded
// by the caller's ctx and does not break the monitor.
func TestExecuteWaitsForTheCommandInFlight(t *testing.T) {
	srv := qmptest.New(t)
	release := make(chan struct{})
	srv.Handle("x-slow", func(json.RawMessage) (any, *qmptest.Error) {
		<-release
		return "slow done", nil
	})
	m := dial(t, srv)
	slow := make(chan error, 1)
	go func() { slow <- m.Execute(context.Background(), "x-slow", nil, nil) }()
	if err := srv.WaitCommand(testContext(t), "x-slow"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := m.Cont(ctx); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, qmp.ErrClosed) {
		t.Errorf("Cont while x-slow is in flight = %v, want DeadlineExceeded without breaking the monitor", err)
	}
	close(release)
	if err := <-slow; err != nil {
		t.Errorf("x-slow = %v", err)
	}
	if err := m.Cont(testContext(t)); err != nil {
		t.Errorf("Cont after x-slow = %v", err)
	}
	if got, want := srv.Commands(), []string{"qmp_capabilities", "x-slow", "cont"}; !cmp.Equal(got, want) {
		t.Errorf("server got %v, want %v", got, want)
	}
}

func TestExecuteWithExpiredContextKeepsMonitor(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Cont(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, qmp.ErrClosed) {
		t.Errorf("Cont with a cancelled context = %v, want Canceled without breaking the monitor", err)
	}
	if _, err := m.QueryStatus(testContext(t)); err != nil {
		t.Errorf("QueryStatus after = %v", err)
	}
}

func TestExecuteWhenQEMUGoesAway(t *testing.T) {
	srv := qmptest.New(t)
	srv.Handle("x-crash", func(json.RawMessage) (any, *qmptest.Error) {
		srv.Disconnect()
		return nil, nil
	})
	m := dial(t, srv)
	if err := m.Execute(testContext(t), "x-crash", nil, nil); !errors.Is(err, qmp.ErrClosed) {
		t.Errorf("Execute = %v, want ErrClosed", err)
	}
}

func TestExecuteRejectsUnencodableArguments(t *testing.T) {
	m := dial(t, qmptest.New(t))
	if err := m.Execute(testContext(t), "x-bad", map[string]any{"f": func() {}}, nil); err == nil || errors.Is(err, qmp.ErrClosed) {
		t.Errorf("Execute = %v, want an encoding error", err)
	}
	if _, err := m.QueryStatus(testContext(t)); err != nil {
		t.Errorf("QueryStatus after = %v", err)
	}
}

func TestExecuteWithFilePassesDescriptor(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := m.GetFD(testContext(t), "migrate0", w); err != nil {
		t.Fatal(err)
	}
	got := srv.ReceivedFDs()
	want, err := w.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "migrate0" || !os.SameFile(got[0].Info, want) {
		t.Fatalf("server received %+v, want the pipe's write end as migrate0", got)
	}
	// Without a descriptor QEMU refuses getfd.
	err = m.Execute(testContext(t), "getfd", map[string]string{"fdname": "none"}, nil)
	var qe *qmp.Error
	if !errors.As(err, &qe) || qe.Desc != "No file descriptor supplied via SCM_RIGHTS" {
		t.Errorf("getfd without a file = %v", err)
	}
	if err := m.ExecuteWithFile(testContext(t), "getfd", nil, nil, nil); err == nil {
		t.Error("ExecuteWithFile with a nil file succeeded")
	}
}

func TestExecuteWithClosedFileKeepsMonitor(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := m.GetFD(testContext(t), "gone", f); err == nil || errors.Is(err, qmp.ErrClosed) {
		t.Errorf("GetFD with a closed file = %v, want an error that leaves the monitor open", err)
	}
	if _, err := m.QueryStatus(testContext(t)); err != nil {
		t.Errorf("QueryStatus after = %v", err)
	}
	if got := srv.Commands(); !cmp.Equal(got, []string{"qmp_capabilities", "query-status"}) {
		t.Errorf("server got %v: nothing of the failed getfd should have been sent", got)
	}
}
