package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
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

// runTempDir makes the TMPDIR of one test binary run (inside the caller's TMPDIR): every t.TempDir and
// daemon run dir of the run lands in it, so what a crashed run left behind can be found and killed.
// It is world-writable and sticky like /tmp: a QEMU running as another user must reach the dirs in it.
func runTempDir() (string, error) {
	dir, err := os.MkdirTemp("", "e") // short: unix socket paths of instances below it stay under 108 bytes
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o1777)
}

// sweepRun, called after the test binary inside the namespace has exited, however it ended (a test
// timeout's panic runs no t.Cleanup), kills every process still naming the run's TMPDIR, says so on
// w, removes that dir, and returns 1 if anything was left (a leak), else code.
func sweepRun(w io.Writer, dir string, code int) int {
	killed, err := testproc.Kill(leftoverTimeout, dir)
	for _, p := range killed {
		fmt.Fprintf(w, "e2e: killed a process the tests left running: %v\n", p)
	}
	if err != nil {
		fmt.Fprintf(w, "e2e: %v\n", err)
	}
	if rmErr := os.RemoveAll(dir); rmErr != nil {
		fmt.Fprintf(w, "e2e: remove the run's temp dir: %v\n", rmErr)
	}
	if len(killed) > 0 || err != nil {
		fmt.Fprintf(w, "FAIL: the tests left %d processes running under %s\n", len(killed), dir)
		return max(code, 1)
	}
	return code
}

// runUnshared re-executes the test binary under `unshare --net` with its own TMPDIR and returns its
// exit code, after sweeping what it left.
func runUnshared() int {
	tmp, err := runTempDir()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: make the run's temp dir: %v\n", err)
		return 1
	}
	cmd := exec.Command("unshare", append([]string{"--net", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1", "TMPDIR="+tmp)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return sweepRun(os.Stderr, tmp, ee.ExitCode())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot create a network namespace (need root and util-linux's unshare): %v\n", err)
		return sweepRun(os.Stderr, tmp, 1)
	}
	return sweepRun(os.Stderr, tmp, 0)
}
