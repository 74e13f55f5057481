package testproc

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Kill sends SIGKILL to every process Find(dirs...) reports and waits until none is left, scanning
// again after each round (a process forked by a dying parent appears only then). It returns the
// processes it killed; the error names those still there when timeout passes.
func Kill(timeout time.Duration, dirs ...string) ([]Process, error) {
	deadline := time.Now().Add(timeout)
	var killed []Process
	for {
		found, err := Find(dirs...)
		if err != nil || len(found) == 0 {
			return killed, err
		}
		if time.Now().After(deadline) {
			return killed, fmt.Errorf("%d processes under %v outlived SIGKILL for %v: %v", len(found), dirs, timeout, found)
		}
		n := len(killed)
		for _, p := range found {
			if killAndWait(p.PID, dirs, deadline) {
				killed = append(killed, p)
			}
		}
		if len(killed) == n { // none could be signalled (not ours to kill?): scan again shortly
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// killAndWait kills pid through a pidfd, once its command line still names one of dirs (so never a
// process that took over a reused PID), and waits for it to exit until deadline. It reports whether
// it sent the signal.
func killAndWait(pid int, dirs []string, deadline time.Time) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return false // gone already
	}
	defer unix.Close(fd)
	if !mentionsAny(cmdline(pid), dirs) {
		return false
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		return false
	}
	// A pidfd turns readable when its process exits (for a child of ours: when it becomes a zombie).
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return true
		}
		_, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if !errors.Is(err, syscall.EINTR) {
			return true
		}
	}
}

// KillOnCleanup makes sure nothing a test started from dirs outlives it, also when it failed or
// stopped at t.Fatal: on cleanup it kills every process whose command line names one of dirs, waits
// for them, and logs what it killed. A process that survives SIGKILL fails the test.
func KillOnCleanup(t testing.TB, dirs ...string) {
	t.Helper()
	if err := checkDirs(dirs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		killed, err := Kill(10*time.Second, dirs...)
		for _, p := range killed {
			t.Logf("killed a process the test left running: %v", p)
		}
		if err != nil {
			t.Error(err)
		}
	})
}

// TempRoot is the directory that holds every t.TempDir() of t: unique to t, and what a test's own
// processes (QEMU with its sockets and disks there) name on their command line.
func TempRoot(t testing.TB) string {
	t.Helper()
	return filepath.Dir(t.TempDir())
}
