package qemu

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// threads is the number of OS threads of this process.
func threads(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// TestRunningChildrenHoldNoThreadAndExitsAreStillReaped: waiting for a running QEMU costs the daemon
// no OS thread (a goroutine blocked in waitid holds one per instance), and each exit is still reaped
// and reported with its status. Not parallel: other tests' threads would blur the count.
func TestRunningChildrenHoldNoThreadAndExitsAreStillReaped(t *testing.T) {
	const children = 16
	before := threads(t)
	var procs []*Process
	for range children {
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		p := &Process{pid: cmd.Process.Pid, exited: make(chan struct{})}
		go p.reap(cmd)
		procs = append(procs, p)
	}
	// A reaper blocked in waitid makes the runtime start a thread within milliseconds; a second is
	// plenty for all of them to show (the loop ends early when they do).
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && threads(t)-before < children {
		time.Sleep(50 * time.Millisecond)
	}
	if grown := threads(t) - before; grown > children/4 {
		t.Errorf("%d running children grew the process by %d OS threads, want at most %d", children, grown, children/4)
	}
	for _, p := range procs {
		if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		select {
		case <-p.Exited():
		case <-time.After(10 * time.Second):
			t.Fatalf("child %d killed 10 s ago is not reported exited", p.pid)
		}
		if got := p.ExitStatus(); got != "signal: killed" {
			t.Errorf("child %d exit status %q, want %q", p.pid, got, "signal: killed")
		}
	}
}
