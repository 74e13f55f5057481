package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/qemu"
	"cloudlet/appliance/testproc"
)

const leakDemoEnv = "CLOUDLET_E2E_LEAK_DEMO"

// A failed TestProjectsAreIsolated left its QEMU running for hours. Here a child test process runs
// TestDemoSubtestFailsWithItsInstanceRunning, whose subtest boots an instance and stops at t.Fatal:
// when the child is done, that QEMU and everything else naming its run dir are gone.
func TestAFailedSubtestLeavesNoQEMURunning(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDemoSubtestFailsWithItsInstanceRunning$", "-test.v")
	cmd.Env = append(os.Environ(), leakDemoEnv+"=1")
	out, err := cmd.CombinedOutput()
	var run string
	var pid int
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "DEMO-QEMU" {
			pid, _ = strconv.Atoi(f[1])
			run = f[2]
		}
	}
	if pid == 0 || !strings.Contains(string(out), "--- FAIL: TestDemoSubtestFailsWithItsInstanceRunning/fails") {
		t.Fatalf("child test = %v, want its subtest to fail with QEMU running:\n%s", err, out)
	}
	t.Cleanup(func() { testproc.Kill(leftoverTimeout, run) }) // only if this test fails
	if left, err := testproc.Find(run); err != nil || len(left) != 0 {
		t.Errorf("after the failed subtest, processes naming its run dir = %v (%v), want none\n%s", left, err, out)
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && testproc.Mentions(strings.Split(string(data), "\x00"), run) {
		t.Errorf("QEMU pid %d of the failed subtest still runs", pid)
	}
}

// TestDemoSubtestFailsWithItsInstanceRunning is the child of TestAFailedSubtestLeavesNoQEMURunning; in
// an ordinary run it does nothing and passes.
func TestDemoSubtestFailsWithItsInstanceRunning(t *testing.T) {
	if os.Getenv(leakDemoEnv) == "" {
		return
	}
	t.Run("fails", func(t *testing.T) {
		c := newCloud(t, "")
		id := c.Create("vm", kernelImage, nil).ID
		c.WaitState(id, compute.VMActive, compute.PowerRunning, 60*time.Second)
		found, err := qemu.Scan(filepath.Join(c.D.RunDir, "instances"))
		if err != nil || len(found) != 1 {
			t.Fatalf("QEMUs of the instance = %v (%v), want one", found, err)
		}
		fmt.Printf("DEMO-QEMU %d %s\n", found[0].PID, c.D.RunDir)
		t.Fatal("deliberate failure with the instance running")
	})
}

// Every daemon test ends so: the daemon is killed, and every process naming its run dir or its data
// dir is killed after it; a process naming another directory is spared.
func TestDaemonCleanupKillsWhatNamesItsDirsAndNothingElse(t *testing.T) {
	other := startTail(t, filepath.Join(t.TempDir(), "other.log"))
	var inRun, inData *tailProc
	t.Run("daemon test", func(st *testing.T) {
		d := NewDaemon(st, cloudletBin)
		if err := os.MkdirAll(d.DataDir, 0o700); err != nil {
			st.Fatal(err)
		}
		// Started for the subtest, stopped by the parent: only the harness may end them in between.
		inRun = startTail(t, filepath.Join(d.RunDir, "qemu.log"))
		inData = startTail(t, filepath.Join(d.DataDir, "disk.log"))
	})
	for name, p := range map[string]*tailProc{"run dir": inRun, "data dir": inData} {
		select {
		case <-p.done:
		case <-time.After(leftoverTimeout):
			t.Errorf("the process naming the daemon's %s outlived its test", name)
		}
	}
	select {
	case <-other.done:
		t.Error("a process naming another directory was killed")
	default:
	}
}

// tailProc is `tail -f` of a file: a harmless process that names the file on its command line.
type tailProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited and been reaped
}

// startTail starts `tail -f path`; t.Cleanup kills it if it is still there.
func startTail(t *testing.T, path string) *tailProc {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &tailProc{cmd: exec.Command("tail", "-f", path), done: make(chan struct{})}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}
