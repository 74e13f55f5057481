package qemu

import (
	"fmt"
	"syscall"
)

// KillFound sends SIGKILL to a QEMU that Scan found, after re-checking that the pid is still that
// process (same start time, same -uuid): an orphan reaper must never kill a reused pid.
func KillFound(f Found) error {
	if f.UUID == "" {
		return fmt.Errorf("kill qemu pid %d: it has no -uuid: %w", f.PID, ErrNotOurs)
	}
	if err := verify(f.PID, f.StartTime, f.UUID); err != nil {
		return fmt.Errorf("kill qemu pid %d: %w", f.PID, err)
	}
	if err := syscall.Kill(f.PID, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill qemu pid %d: %w", f.PID, err)
	}
	return nil
}
