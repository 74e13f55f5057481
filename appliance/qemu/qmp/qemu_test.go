package qmp_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/qemu/qmp"
)

// TestRealQEMU drives a real qemu-system-x86_64 (TCG, no disk, started paused with -S).
func TestRealQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("starts qemu-system-x86_64")
	}
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	exited, stderr := startQEMU(t, "-nodefaults", "-no-user-config", "-S", "-display", "none",
		"-machine", "q35,accel=tcg", "-qmp", "unix:"+sock+",server=on,wait=off")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := dialRetry(t, ctx, sock, exited, stderr)
	t.Cleanup(func() {
		m.Close()
		if t.Failed() {
			t.Logf("transcript:\n%s\nstderr:\n%s", strings.Join(m.Transcript(), "\n"), stderr())
		}
	})
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(m.Version()) {
		t.Errorf("Version() = %q", m.Version())
	}
	t.Run("commands", func(t *testing.T) { checkRealCommands(t, ctx, m) })
	t.Run("quit", func(t *testing.T) { checkRealQuit(t, ctx, m, exited) })
}

func checkRealCommands(t *testing.T, ctx context.Context, m *qmp.Monitor) {
	if got, err := m.QueryStatus(ctx); err != nil || got != (qmp.Status{Status: "prelaunch"}) {
		t.Fatalf("QueryStatus = %+v, %v; want prelaunch", got, err)
	}
	if err := m.Cont(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, m.Events(), qmp.EventResume)
	if got, err := m.QueryStatus(ctx); err != nil || !got.Running {
		t.Errorf("QueryStatus after cont = %+v, %v; want running", got, err)
	}
	err := m.Execute(ctx, "x-cloudlet-no-such-command", nil, nil)
	if qe := (*qmp.Error)(nil); !errors.As(err, &qe) || qe.Class != "CommandNotFound" {
		t.Errorf("unknown command = %v, want a *qmp.Error of class CommandNotFound", err)
	}
	// A descriptor passed with getfd is known to QEMU by name: closefd finds it.
	_, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := m.GetFD(ctx, "cloudlet-test", w); err != nil {
		t.Errorf("GetFD = %v", err)
	}
	if err := m.Execute(ctx, "closefd", map[string]string{"fdname": "cloudlet-test"}, nil); err != nil {
		t.Errorf("closefd after GetFD = %v", err)
	}
}

// checkRealQuit: quit gives SHUTDOWN, then the end of the connection, then the process exits.
func checkRealQuit(t *testing.T, ctx context.Context, m *qmp.Monitor, exited <-chan struct{}) {
	if err := m.Quit(ctx); err != nil && !errors.Is(err, qmp.ErrClosed) {
		t.Fatalf("Quit = %v", err)
	}
	e := waitEvent(t, m.Events(), qmp.EventShutdown)
	if got, err := qmp.ParseShutdown(e); err != nil || got != (qmp.ShutdownData{Guest: false, Reason: "host-qmp-quit"}) {
		t.Errorf("SHUTDOWN data = %+v, %v; want host-qmp-quit", got, err)
	}
	if e := nextEvent(t, m.Events()); e.Name != qmp.EventDisconnected {
		t.Errorf("event after SHUTDOWN = %s %s, want %s", e.Name, e.Data, qmp.EventDisconnected)
	}
	expectClosed(t, m.Events())
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Error("QEMU still running 10s after quit")
	}
}

// startQEMU starts QEMU; t.Cleanup kills it by PID and reaps it. exited is closed when it ends;
// stderr reads what it has written so far.
func startQEMU(t *testing.T, args ...string) (exited <-chan struct{}, stderr func() string) {
	t.Helper()
	errPath := filepath.Join(t.TempDir(), "stderr")
	errFile, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	stderr = func() string {
		b, _ := os.ReadFile(errPath)
		return string(b)
	}
	cmd := exec.Command("qemu-system-x86_64", args...)
	cmd.Stderr = errFile // a file, not a buffer: no copying goroutine to race with
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			syscall.Kill(pid, syscall.SIGKILL) // only our child: it is not reaped until done
			<-done
		}
	})
	return done, stderr
}

// dialRetry dials sock until QEMU has created it.
func dialRetry(t *testing.T, ctx context.Context, sock string, exited <-chan struct{}, stderr func() string) *qmp.Monitor {
	t.Helper()
	for {
		m, err := qmp.Dial(ctx, sock)
		if err == nil {
			return m
		}
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("%v\nstderr:\n%s", err, stderr())
		}
		select {
		case <-exited:
			t.Fatalf("QEMU exited before its QMP socket was ready\nstderr:\n%s", stderr())
		case <-ctx.Done():
			t.Fatalf("%v\nstderr:\n%s", err, stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
