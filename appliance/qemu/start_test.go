package qemu_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
)

// TestStartFails: when QEMU cannot start, Start says why in QEMU's own words and leaves no process,
// pidfile or socket behind.
func TestStartFails(t *testing.T) {
	skipShort(t)
	t.Parallel()
	root := t.TempDir()
	exit1 := filepath.Join(root, "exit1")
	if err := os.WriteFile(exit1, []byte("#!/bin/sh\necho 'fake-qemu: boom' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	hang := filepath.Join(root, fakeHang)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, hang); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(root, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		edit     func(*qemu.Spec, *qemu.StartOptions)
		wantMsgs []string
	}{
		{"missing disk", func(s *qemu.Spec, _ *qemu.StartOptions) {
			s.Disks = []qemu.Disk{{Name: "root", Path: filepath.Join(root, "no-such.qcow2"), Format: qemu.FormatQcow2, BootIndex: 1}}
		}, []string{"exited during startup (exit status 1)", "Could not open '" + filepath.Join(root, "no-such.qcow2") + "': No such file or directory"}},
		{"missing kernel", func(s *qemu.Spec, _ *qemu.StartOptions) {
			s.Kernel = filepath.Join(root, "no-such-vmlinuz")
		}, []string{"exit status 1", "could not open kernel file '" + filepath.Join(root, "no-such-vmlinuz") + "': No such file or directory"}},
		{"missing binary", func(s *qemu.Spec, _ *qemu.StartOptions) {
			s.Binary = filepath.Join(root, "no-such-qemu")
		}, []string{filepath.Join(root, "no-such-qemu"), "no such file or directory"}},
		{"binary exits 1", func(s *qemu.Spec, _ *qemu.StartOptions) {
			s.Binary = exit1
		}, []string{"exited during startup (exit status 1)", "fake-qemu: boom"}},
		// QEMU's monitor thread greets at once, but QEMU hangs loading a kernel from a FIFO that
		// nobody writes: Start must wait for an answer from the main loop, not the greeting.
		{"machine never built", func(s *qemu.Spec, o *qemu.StartOptions) {
			s.Kernel, o.ReadyTimeout = fifo, time.Second
		}, []string{"not ready after 1s"}},
		{"binary never answers", func(s *qemu.Spec, o *qemu.StartOptions) {
			s.Binary, o.ReadyTimeout = hang, 500*time.Millisecond
		}, []string{"not ready after 500ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := testSpec(t, filepath.Join(root, "r"), filepath.Join(root, "s"))
			var opts qemu.StartOptions
			tt.edit(&spec, &opts)
			p, err := qemu.Start(spec, opts)
			if err == nil {
				killOnCleanup(t, p.PID(), spec.UUID)
				t.Fatal("Start succeeded, want an error")
			}
			for _, want := range tt.wantMsgs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Start error = %q\nwant it to contain %q", err, want)
				}
			}
			checkNothingLeft(t, spec)
		})
	}
}

// checkNothingLeft: no process of spec's instance, no pidfile, no sockets.
func checkNothingLeft(t *testing.T, spec qemu.Spec) {
	t.Helper()
	if pids := processesWithUUID(t, spec.UUID); len(pids) > 0 {
		t.Errorf("processes %v of instance %s still running", pids, spec.UUID)
		for _, pid := range pids {
			killOnCleanup(t, pid, spec.UUID)
		}
	}
	for _, path := range []string{spec.Paths.PIDFile, spec.Paths.QMP, spec.Paths.VNC, spec.Paths.Console, spec.Paths.Agent, spec.Paths.Ready} {
		if exists(path) {
			t.Errorf("%s left behind", path)
		}
	}
	if _, err := qemu.Attach(spec.Paths, spec.UUID); !errors.Is(err, qemu.ErrNotRunning) {
		t.Errorf("Attach after a failed start = %v, want ErrNotRunning", err)
	}
}

func TestStartInvalidSpec(t *testing.T) {
	spec := testSpec(t, filepath.Join(t.TempDir(), "r"), filepath.Join(t.TempDir(), "s"))
	spec.VCPUs = 0
	if _, err := qemu.Start(spec, qemu.StartOptions{}); !errors.Is(err, qemu.ErrInvalidSpec) {
		t.Errorf("Start = %v, want ErrInvalidSpec", err)
	}
	if exists(spec.Paths.RunDir) {
		t.Errorf("Start of an invalid spec created %s", spec.Paths.RunDir)
	}
}
