package testproc_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/testproc"
)

// fakeQEMU starts a harmless process that looks like a QEMU of dir: named qemu-system-x86_64, with a
// log in dir and args on its command line (it is `tail -f` of that log; the args, files that do not
// exist, it ignores). t.Cleanup ends it.
func fakeQEMU(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := startFakeQEMU(t, dir, args...)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd
}

// startFakeQEMU is fakeQEMU without the cleanup: as a test that forgets to stop its QEMU, or stops
// at t.Fatal before it could.
func startFakeQEMU(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "qemu.log")
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{"-c", `exec -a qemu-system-x86_64 tail -q -f "$@" 2>/dev/null`, "bash", log}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitArgv(t, cmd.Process.Pid, "qemu-system-x86_64")
	return cmd
}

// waitArgv waits until pid has exec'd the program named argv0 (bash replaces itself with it).
func waitArgv(t *testing.T, pid int, argv0 string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.HasPrefix(string(data), argv0+"\x00") {
			return
		}
	}
	t.Fatalf("pid %d never became %s", pid, argv0)
}

// alive reports whether pid is a running process (not gone, not a zombie).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(data), ')')
	return i > 0 && i+2 < len(data) && data[i+2] != 'Z' && data[i+2] != 'X'
}

func TestKillEndsTheProcessesNamingTheDirectoryAndNothingElse(t *testing.T) {
	root := t.TempDir()
	mine := filepath.Join(root, "clr123")
	victim := fakeQEMU(t, filepath.Join(mine, "instances", "u1"))
	sibling := fakeQEMU(t, filepath.Join(root, "clr1234")) // same prefix, another test's directory
	other := fakeQEMU(t, filepath.Join(t.TempDir(), "clr123"))
	commaDir := filepath.Join(root, "r,1") // named only as QEMU writes it in an option string
	comma := fakeQEMU(t, filepath.Join(root, "logs"), "socket,id=qmp,path="+strings.ReplaceAll(commaDir, ",", ",,")+"/qmp.sock")

	killed, err := testproc.Kill(10*time.Second, mine)
	if err != nil {
		t.Fatal(err)
	}
	if len(killed) != 1 || killed[0].PID != victim.Process.Pid || killed[0].Argv[0] != "qemu-system-x86_64" {
		t.Errorf("killed %v, want only pid %d", killed, victim.Process.Pid)
	}
	// A comma in a path is doubled inside a QEMU option string: still the same directory.
	if killed, err := testproc.Kill(10*time.Second, commaDir); err != nil || len(killed) != 1 || killed[0].PID != comma.Process.Pid {
		t.Errorf("Kill(%s) = %v, %v; want only pid %d", commaDir, killed, err, comma.Process.Pid)
	}
	if alive(victim.Process.Pid) {
		t.Errorf("pid %d still runs after Kill returned", victim.Process.Pid)
	}
	for _, p := range []*exec.Cmd{sibling, other} {
		if !alive(p.Process.Pid) {
			t.Errorf("pid %d (%v) was killed: it names another directory", p.Process.Pid, p.Args)
		}
	}
	if again, err := testproc.Kill(time.Second, mine); err != nil || len(again) != 0 {
		t.Errorf("second Kill = %v, %v; want nothing left to kill", again, err)
	}
}

const failDemoEnv = "CLOUDLET_TESTPROC_FAIL_DEMO"

// TestAFailedSubtestLeavesNoQEMURunning runs TestDemoSubtestFailsWithItsQEMURunning in a child test
// process: its subtest starts a (fake) QEMU in its temp dir and stops at t.Fatal. When the child is
// done, that QEMU is gone.
func TestAFailedSubtestLeavesNoQEMURunning(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDemoSubtestFailsWithItsQEMURunning$", "-test.v")
	cmd.Env = append(os.Environ(), failDemoEnv+"=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "--- FAIL: TestDemoSubtestFailsWithItsQEMURunning/fails") {
		t.Fatalf("child test = %v, want it to fail its subtest:\n%s", err, out)
	}
	var pid int
	var root string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "FAKE-QEMU" {
			pid, _ = strconv.Atoi(f[1])
			root = f[2]
		}
	}
	if pid == 0 {
		t.Fatalf("child never started its QEMU:\n%s", out)
	}
	t.Cleanup(func() { testproc.Kill(10*time.Second, root) }) // only if this test fails
	if left, err := testproc.Find(root); err != nil || len(left) != 0 {
		t.Errorf("after the failed subtest, processes under its temp dir = %v (%v), want none\n%s", left, err, out)
	}
	if !strings.Contains(string(out), "killed a process the test left running: pid "+strconv.Itoa(pid)) {
		t.Errorf("the cleanup did not report killing pid %d:\n%s", pid, out)
	}
}

// TestDemoSubtestFailsWithItsQEMURunning is the child of TestAFailedSubtestLeavesNoQEMURunning; it does
// nothing (and passes) in the ordinary run.
func TestDemoSubtestFailsWithItsQEMURunning(t *testing.T) {
	if os.Getenv(failDemoEnv) == "" {
		return
	}
	t.Run("fails", func(t *testing.T) {
		root := testproc.TempRoot(t)
		testproc.KillOnCleanup(t, root)
		q := startFakeQEMU(t, filepath.Join(root, "run"))
		go q.Wait()
		fmt.Printf("FAKE-QEMU %d %s\n", q.Process.Pid, root)
		t.Fatal("deliberate failure with QEMU running")
	})
}
