package qemu_test

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
)

// KillFound never signals a process whose identity does not match what Scan saw.
func TestKillFoundRefusesAnotherProcess(t *testing.T) {
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	for _, f := range []qemu.Found{
		{PID: sleep.Process.Pid, UUID: "6b0b4f3a-4a63-4c1b-9d36-1f0e8e4f1a01", StartTime: 1},
		{PID: sleep.Process.Pid},
	} {
		if err := qemu.KillFound(f); !errors.Is(err, qemu.ErrNotOurs) {
			t.Errorf("KillFound(%+v) = %v, want ErrNotOurs", f, err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if sleep.ProcessState != nil {
		t.Fatal("the unrelated process died")
	}
	if err := sleep.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the unrelated process is gone: %v", err)
	}
}
