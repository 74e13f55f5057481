package qmp_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// observation is one command an Observer was told of.
type observation struct{ command, result string }

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu  sync.Mutex
	got []observation
}

func (r *recorder) observe(command, result string, d time.Duration) {
	if d < 0 {
		panic("negative duration")
	}
	r.mu.Lock()
	r.got = append(r.got, observation{command, result})
	r.mu.Unlock()
}

func (r *recorder) observations() []observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]observation(nil), r.got...)
}

// TestObserverSeesEveryCommandAndHowItEnded: the hook metrics hang on. Every command is reported
// once, with "ok", QEMU's error class, "error", "canceled", "timeout" or "disconnected".
func TestObserverSeesEveryCommandAndHowItEnded(t *testing.T) {
	srv := qmptest.New(t)
	srv.Handle("x-fail", func(json.RawMessage) (any, *qmptest.Error) {
		return nil, &qmptest.Error{Class: "DeviceNotFound", Desc: "no such device"}
	})
	rec := &recorder{}
	m, err := qmp.DialObserved(testContext(t), srv.Path(), rec.observe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	m.QueryStatus(testContext(t))
	m.Execute(testContext(t), "x-fail", nil, nil)
	m.Execute(testContext(t), "x-bad", map[string]any{"f": func() {}}, nil)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	m.Execute(canceled, "cont", nil, nil)
	srv.Hang(true)
	short, stop := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer stop()
	m.Execute(short, "stop", nil, nil)
	srv.Hang(false)
	m.Execute(testContext(t), "cont", nil, nil)
	want := []observation{
		{"qmp_capabilities", qmp.ResultOK}, {"query-status", qmp.ResultOK}, {"x-fail", "DeviceNotFound"},
		{"x-bad", qmp.ResultError}, {"cont", qmp.ResultCanceled}, {"stop", qmp.ResultTimeout},
		{"cont", qmp.ResultDisconnected},
	}
	if diff := cmp.Diff(want, rec.observations(), cmp.AllowUnexported(observation{})); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}
