package qemu

import (
	"fmt"
	"syscall"
)

// KillFound sends SIGKILL to a QEMU that Scan found. The pidfd is opened first and the identity (same
// start time, same -uuid) checked after, so the signal goes to the process that was checked even if the
// pid were reused in between: an orphan reaper must never kill another process.
func KillFound(f Found) error {
	if f.UUID == "" {
		return fmt.Errorf("kill qemu pid %d: it has no -uuid: %w", f.PID, ErrNotOurs)
	}
	pidfd, err := openPidfd(f.PID)
	if err != nil {
		return fmt.Errorf("kill qemu pid %d: %w", f.PID, ErrNotRunning)
	}
	defer pidfd.Close()
	if err := verify(f.PID, f.StartTime, f.UUID); err != nil {
		return fmt.Errorf("kill qemu pid %d: %w", f.PID, err)
	}
	if err := sendPidfd(pidfd, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill qemu pid %d: %w", f.PID, err)
	}
	return nil
}
