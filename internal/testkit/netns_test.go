package testkit

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// When the test binary is gone (a timeout's panic runs no cleanup), the outer process sweeps the run's
// TMPDIR: what still names it is killed, the dir removed, and the run fails though its tests passed.
func TestRunSweepKillsWhatTheRunLeftAndFailsIt(t *testing.T) {
	dir, err := runTempDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	left, done := startTail(t, filepath.Join(dir, "qemu.log"))
	var report strings.Builder
	if code := sweepRun(&report, dir, 0); code != 1 || !strings.Contains(report.String(), "killed a process the tests left running: pid "+strconv.Itoa(left.Process.Pid)) {
		t.Errorf("sweep after a passing run that left a process = %d, %q; want 1, naming the process", code, report.String())
	}
	select {
	case <-done:
	case <-time.After(leftoverTimeout):
		t.Error("the process the run left is still there")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the run's temp dir is still there: %v", err)
	}
	clean, err := runTempDir()
	if err != nil {
		t.Fatal(err)
	}
	report.Reset()
	if code := sweepRun(&report, clean, 3); code != 3 || report.Len() != 0 {
		t.Errorf("sweep after a run that left nothing = %d, %q; want the run's own code 3, silently", code, report.String())
	}
}

// startTail starts `tail -f path`, a harmless process that names path on its command line; done is
// closed once it has exited and been reaped. t.Cleanup kills it if it is still there.
func startTail(t *testing.T, path string) (cmd *exec.Cmd, done chan struct{}) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, done = exec.Command("tail", "-f", path), make(chan struct{})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd, done
}

// f runs in a namespace of its own, which holds nothing but a loopback, and the test's own namespace is
// the one it was before; f's error comes back.
func TestOnThreadInNetnsRunsFInAnEmptyNamespaceOfItsOwn(t *testing.T) {
	before, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var inside string
	var links []net.Interface
	err = OnThreadInNetns(func() (err error) {
		if inside, err = os.Readlink("/proc/thread-self/ns/net"); err != nil {
			return err
		}
		links, err = net.Interfaces()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside == before || len(links) != 1 || links[0].Name != "lo" {
		t.Errorf("f ran in %s with links %v; want a namespace other than the test's %s, holding only lo", inside, links, before)
	}
	if after, _ := os.Readlink("/proc/thread-self/ns/net"); after != before {
		t.Errorf("the test's namespace is %s after OnThreadInNetns, want %s", after, before)
	}
	if err := OnThreadInNetns(func() error { return os.ErrExist }); err != os.ErrExist {
		t.Errorf("OnThreadInNetns returned %v, want f's error", err)
	}
}
