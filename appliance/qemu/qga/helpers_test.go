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

// bounded runs fn and fails the test when it takes longer than a few client deadlines.
func bounded(t *testing.T, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	if d := time.Since(start); d > 5*testTimeout {
		t.Errorf("took %v, want it bounded by the client's deadline (%v)", d, testTimeout)
	}
}

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
