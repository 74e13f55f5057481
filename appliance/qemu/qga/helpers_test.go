package qga

import (
	"context"
	"testing"
	"time"

	"cloudlet/appliance/qemu/qga/qgatest"
)

// testTimeout is the client's deadline in these tests: short, so a hanging agent costs little.
const testTimeout = 300 * time.Millisecond

// dial connects with testTimeout and fails the test on error.
func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), path, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// bounded runs fn, which must end by the client's own deadline or reply cap: each caller checks that
// fn's error is that timeout (or ErrTooLarge), which a client looping on a hostile agent until it
// stopped would not return. The wait here is only a guard against a hang, far beyond the deadline, so
// that a loaded machine's scheduling never decides the outcome.
func bounded(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatalf("still running after %v: the client's deadline (%v) did not end it", hangGuard, testTimeout)
	}
}

// hangGuard bounds bounded's wait: a hang, not a speed check.
const hangGuard = time.Minute

// agentWith is a fake agent answering as qemu-ga does, with replies (a JSON value per command,
// sent as "return") in place of the model's; it returns the socket's path.
func agentWith(t *testing.T, replies map[string]string) string {
	t.Helper()
	a := qgatest.New(t)
	for cmd, v := range replies {
		a.Handle(cmd, qgatest.Return(v))
	}
	return a.Path()
}
