package e2e

import (
	"testing"
	"time"

	"cloudlet/appliance/testproc"
)

// leftoverTimeout bounds the wait for SIGKILLed processes to exit.
const leftoverTimeout = 10 * time.Second

// killLeftovers kills every process whose command line names one of a test's dirs and waits for them;
// a daemon's QEMUs outlive it by design, so this is the normal end of a daemon test, logged only when
// the test failed. A process that survives SIGKILL fails the test.
func killLeftovers(t testing.TB, dirs []string) {
	killed, err := testproc.Kill(leftoverTimeout, dirs...)
	if t.Failed() {
		for _, p := range killed {
			t.Logf("killed at cleanup: %v", p)
		}
	}
	if err != nil {
		t.Error(err)
	}
}
