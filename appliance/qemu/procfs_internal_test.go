package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const testUUID = "5d0c4a1e-8b7f-4e2d-9c3b-1a2f3e4d5c6b"

// startStandIn starts a process whose cmdline carries -uuid testUUID, as a QEMU's would.
func startStandIn(t *testing.T) *exec.Cmd {
	t.Helper()
	argv := []string{"sh", "-c", "sleep 60; exit 0", "stand-in", "-uuid", testUUID}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the whole group: sh and its sleep
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	// On a loaded CI machine a fresh child was once read with another command line: wait for ours.
	want := strings.Join(argv, "\x00") + "\x00"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
		if string(got) == want {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("stand-in cmdline %q, want %q", got, want)
		}
	}
}

func TestIdentify(t *testing.T) {
	cmd := startStandIn(t)
	pid := cmd.Process.Pid
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := identify(pid, testUUID); err != nil || got != st.startTime {
		t.Errorf("identify(stand-in) = %d, %v; want %d, nil", got, err, st.startTime)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"same start time", verify(pid, st.startTime, testUUID), nil},
		{"other start time: pid reused", verify(pid, st.startTime+1, testUUID), ErrNotOurs},
		{"other uuid", verify(pid, st.startTime, "00000000-0000-4000-8000-000000000000"), ErrNotOurs},
		{"no such pid", verify(1<<22+1, st.startTime, testUUID), ErrNotRunning},
		{"zombie", verify(zombie(t), 0, testUUID), ErrNotRunning},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) || (tt.want == nil && tt.err != nil) {
			t.Errorf("%s: verify = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
}

// zombie returns the pid of an exited, not yet reaped child started with -uuid testUUID.
func zombie(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", "exit 0", "stand-in", "-uuid", testUUID)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if st, err := readStat(cmd.Process.Pid); err == nil && st.state == 'Z' {
			return cmd.Process.Pid
		}
	}
	t.Fatal("child did not become a zombie")
	return 0
}

// TestSignalReusedPID: a Process whose PID now belongs to another process (same cmdline even,
// but another start time) refuses to signal it.
func TestSignalReusedPID(t *testing.T) {
	cmd := startStandIn(t)
	pid := cmd.Process.Pid
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{pid: pid, startTime: st.startTime - 1, uuid: testUUID, exited: make(chan struct{})}
	if err := p.Signal(syscall.SIGKILL); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Signal = %v, want ErrNotOurs", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.Kill(ctx); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Kill = %v, want ErrNotOurs", err)
	}
	if st, err := readStat(pid); err != nil || st.state == 'Z' {
		t.Errorf("the other process was killed: state %c, %v", st.state, err)
	}
}

// TestReadStatOddCommandName: the command name (from the executable's file name) may hold spaces
// and parentheses; the fields after it must still be found.
func TestReadStatOddCommandName(t *testing.T) {
	odd := filepath.Join(t.TempDir(), "a) (b c")
	if err := os.Symlink("/bin/sleep", odd); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(odd, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	st, err := readStat(cmd.Process.Pid)
	if err != nil || st.state == 0 || st.startTime == 0 {
		t.Errorf("readStat = %+v, %v", st, err)
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid)); !strings.Contains(string(comm), ") (") {
		t.Errorf("comm = %q: the test did not get an odd name", comm)
	}
}
