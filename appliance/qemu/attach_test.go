package qemu_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
)

// TestSurvivesParent starts QEMU from a helper process that exits at once, as a daemon restart
// would: QEMU keeps running, Attach finds it again, and Kill ends it.
func TestSurvivesParent(t *testing.T) {
	skipShort(t)
	t.Parallel()
	root := t.TempDir()
	spec := testSpec(t, filepath.Join(root, "r"), filepath.Join(root, "s"))
	pid := startFromHelper(t, spec)

	p, err := qemu.Attach(spec.Paths, spec.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if p.PID() != pid || p.StartTime() != procStartTime(t, pid) {
		t.Errorf("Attach found pid %d started at %d, want pid %d started at %d", p.PID(), p.StartTime(), pid, procStartTime(t, pid))
	}
	if ppid := parentPID(t, pid); ppid == os.Getpid() {
		t.Errorf("QEMU's parent is the test process, want it reparented")
	}
	if err := p.Signal(0); err != nil {
		t.Errorf("Signal(0) = %v", err)
	}
	if _, err := qemu.Start(spec, qemu.StartOptions{}); !errors.Is(err, qemu.ErrRunning) {
		t.Errorf("second Start = %v, want ErrRunning", err)
	}
	dialQMP(t, spec.Paths.QMP) // the monitor is free for the next client

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := p.ExitStatus(), "exited (not our child)"; got != want {
		t.Errorf("ExitStatus() = %q, want %q", got, want)
	}
	if _, err := qemu.Attach(spec.Paths, spec.UUID); !errors.Is(err, qemu.ErrNotRunning) {
		t.Errorf("Attach after Kill = %v, want ErrNotRunning", err)
	}
}

// startFromHelper re-runs the test binary as a helper that calls Start and exits; it returns the
// PID the helper printed.
func startFromHelper(t *testing.T, spec qemu.Spec) int {
	t.Helper()
	specJSON, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"="+string(specJSON))
	out, err := helper.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, exitStderr(err))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("helper printed %q, not a pid", out)
	}
	killOnCleanup(t, pid, spec.UUID)
	return pid
}

func exitStderr(err error) []byte {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Stderr
	}
	return nil
}

func parentPID(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// TestAttachRefuses: Attach answers ErrNotRunning for every pidfile that does not name the
// instance's live QEMU, and never signals the process a stale pidfile names.
func TestAttachRefuses(t *testing.T) {
	root := t.TempDir()
	sleep := startFake(t, "sleep", "60")
	tests := []struct {
		name    string
		pidfile string // "" means no pidfile
	}{
		{"no pidfile", ""},
		{"empty pidfile", "\n"},
		{"garbage", "qemu\n"},
		{"negative pid", "-1\n"},
		{"unrelated live process", strconv.Itoa(sleep.Process.Pid) + "\n"},
		{"our own test process", strconv.Itoa(os.Getpid()) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := testSpec(t, filepath.Join(root, "r"), filepath.Join(root, "s"))
			if err := os.MkdirAll(spec.Paths.RunDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tt.pidfile != "" {
				if err := os.WriteFile(spec.Paths.PIDFile, []byte(tt.pidfile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := qemu.Attach(spec.Paths, spec.UUID); !errors.Is(err, qemu.ErrNotRunning) {
				t.Errorf("Attach = %v, want ErrNotRunning", err)
			}
		})
	}
	if err := sleep.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the sleep named by a stale pidfile is gone: %v", err)
	}
	if _, err := qemu.Attach(qemu.PathsFor(root, root), "not-a-uuid"); !errors.Is(err, qemu.ErrInvalidSpec) {
		t.Errorf("Attach with a bad uuid = %v, want ErrInvalidSpec", err)
	}
}

// TestAttachWatchesExit: an attached process (here a stand-in whose cmdline carries the uuid) is
// signalled through its pidfd, and Exited closes when it ends.
func TestAttachWatchesExit(t *testing.T) {
	root := t.TempDir()
	spec := testSpec(t, filepath.Join(root, "r"), filepath.Join(root, "s"))
	fake := startFake(t, "sh", "-c", "sleep 60; exit 0", "fake", "-uuid", spec.UUID)
	if err := os.MkdirAll(spec.Paths.RunDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec.Paths.PIDFile, []byte(strconv.Itoa(fake.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := qemu.Attach(spec.Paths, spec.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("Exited() not closed 10s after SIGTERM")
	}
	if got, want := p.ExitStatus(), "exited (not our child)"; got != want {
		t.Errorf("ExitStatus() = %q, want %q", got, want)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, qemu.ErrNotRunning) {
		t.Errorf("Signal after exit = %v, want ErrNotRunning", err)
	}
	if err := p.Kill(context.Background()); err != nil {
		t.Errorf("Kill after exit = %v, want nil", err)
	}
}
