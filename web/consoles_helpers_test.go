package web

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Set-up shared by the console tests (serial_test.go, vnc_test.go).

// consoleContext bounds one console test's websocket calls: 10 s.
func consoleContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wsURL is the websocket URL of a test server's http:// URL.
func wsURL(httpURL string) string { return "ws" + strings.TrimPrefix(httpURL, "http") }

// baseline is how many goroutines and descriptors the process has before a test's connection.
type baseline struct{ goroutines, fds int }

func takeBaseline(t *testing.T) baseline {
	t.Helper()
	return baseline{runtime.NumGoroutine(), openFDs(t)}
}

// waitBack waits until the goroutines and descriptors are back to the baseline: a connection that
// ended left nothing behind.
func (b baseline) waitBack(t *testing.T) {
	t.Helper()
	waitUntil(t, "the goroutines and descriptors to be back to before", func() bool {
		return runtime.NumGoroutine() <= b.goroutines && openFDs(t) <= b.fds
	})
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// waitUntil polls cond for up to 10 s; on failure it dumps the goroutines.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("timed out waiting for %s; goroutines:\n%s", what, buf[:runtime.Stack(buf, true)])
}
