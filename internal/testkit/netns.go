package testkit

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cloudlet/appliance/testproc"
)

// netnsEnv marks the re-run inside the namespace; its value is Netns.Name.
const netnsEnv = "CLOUDLET_TEST_IN_NETNS"

// leftoverTimeout bounds the wait for SIGKILLed leftovers to exit.
const leftoverTimeout = 10 * time.Second

// Netns says how RunInNetns prepares the namespace a package's tests run in.
type Netns struct {
	// Name is the package's name, in messages and in the marker of the re-run (required).
	Name string
	// Sysfs also unshares the mount namespace and mounts a fresh sysfs on /sys, so /sys/class/net
	// lists this namespace's links, not the host's.
	Sysfs bool
	// ShortHere runs the tests where they are, without a namespace, under -short (they skip what
	// needs one); without it -short runs them in a namespace too.
	ShortHere bool
	// Setup runs inside the namespace before the tests; the returned func (if any) after them.
	Setup func() (func(), error)
	// AfterPass runs inside the namespace after tests that passed; its error fails the run (a check
	// that the tests removed what they made, say).
	AfterPass func() error
}

// RunInNetns runs m in a new, private network namespace and returns the exit code for os.Exit. The
// first call re-executes the test binary under `unshare --net` with a TMPDIR of its own, waits, then
// kills whatever still runs naming that TMPDIR (a QEMU a timed-out test left behind: the panic of a
// test timeout runs no t.Cleanup) and fails the run if anything was left. Inside, it brings up the
// loopback and runs the tests. The namespace, and every link and rule the tests made in it, dies
// with the test process, also on failure.
func RunInNetns(m *testing.M, o Netns) int {
	flag.Parse()
	if o.Name == "" {
		fmt.Fprintln(os.Stderr, "testkit: RunInNetns needs the package's name")
		return 1
	}
	if testing.Short() && o.ShortHere {
		return m.Run()
	}
	if os.Getenv(netnsEnv) != o.Name {
		return runUnshared(o)
	}
	return runInside(m, o)
}

// runInside prepares the namespace and runs the tests in it.
func runInside(m *testing.M, o Netns) int {
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: ip link set lo up: %v: %s\n", o.Name, err, out)
		return 1
	}
	if o.Sysfs {
		if err := unix.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
			fmt.Fprintf(os.Stderr, "%s: mount a sysfs for the test namespace: %v\n", o.Name, err)
			return 1
		}
	}
	if o.Setup != nil {
		teardown, err := o.Setup()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: set up the tests: %v\n", o.Name, err)
			return 1
		}
		if teardown != nil {
			defer teardown()
		}
	}
	code := m.Run()
	if code == 0 && o.AfterPass != nil {
		if err := o.AfterPass(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", o.Name, err)
			return 1
		}
	}
	return code
}

// runUnshared re-executes the test binary inside new namespaces with its own TMPDIR and returns its
// exit code, after sweeping what it left.
func runUnshared(o Netns) int {
	tmp, err := runTempDir()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: make the run's temp dir: %v\n", o.Name, err)
		return 1
	}
	args := []string{"--net"}
	if o.Sysfs {
		args = append(args, "--mount", "--propagation", "private")
	}
	cmd := exec.Command("unshare", append(append(args, "--", os.Args[0]), os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), netnsEnv+"="+o.Name, "TMPDIR="+tmp)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return sweepRun(os.Stderr, tmp, ee.ExitCode())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot create a network namespace (need root and util-linux's unshare): %v\n", o.Name, err)
		return sweepRun(os.Stderr, tmp, 1)
	}
	return sweepRun(os.Stderr, tmp, 0)
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

// sweepRun, called after the test binary inside the namespace has exited, however it ended, kills
// every process still naming the run's TMPDIR, says so on w, removes that dir, and returns 1 if
// anything was left (a leak), else code.
func sweepRun(w io.Writer, dir string, code int) int {
	killed, err := testproc.Kill(leftoverTimeout, dir)
	for _, p := range killed {
		fmt.Fprintf(w, "testkit: killed a process the tests left running: %v\n", p)
	}
	if err != nil {
		fmt.Fprintf(w, "testkit: %v\n", err)
	}
	if rmErr := os.RemoveAll(dir); rmErr != nil {
		fmt.Fprintf(w, "testkit: remove the run's temp dir: %v\n", rmErr)
	}
	if len(killed) > 0 || err != nil {
		fmt.Fprintf(w, "FAIL: the tests left %d processes running under %s\n", len(killed), dir)
		return max(code, 1)
	}
	return code
}

// OnThreadInNetns runs f on an OS thread of its own moved into a new, empty network namespace and
// returns f's error. The thread is never unlocked: it exits with its goroutine, and the namespace
// with the last thing f left open in it. The host's interfaces and routes are never touched, and the
// rest of the test process stays where it was.
func OnThreadInNetns(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread, in another namespace, ends with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare the network namespace: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
