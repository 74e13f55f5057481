package qemu

import "os/exec"

// reap waits until QEMU, the daemon's child, exits, reaps it and marks p exited. It waits for the
// exit on a pidfd in the Go runtime's poller, then reaps (at once): a goroutine blocked in Wait's
// waitid would hold an OS thread, with its stacks, for as long as QEMU runs. Without a pollable pidfd
// (Linux before 5.3) it waits in Wait as before. The child is not reaped before Wait, so its PID
// cannot be reused under the pidfd.
func (p *Process) reap(cmd *exec.Cmd) {
	awaitExit(cmd.Process.Pid)
	cmd.Wait()
	p.markExited(cmd.ProcessState.String())
}

// awaitExit returns when the child pid has exited, or at once when its pidfd cannot be polled.
func awaitExit(pid int) {
	f, err := openPidfd(pid)
	if err != nil {
		return
	}
	defer f.Close()
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Read(func(fd uintptr) bool { return pidfdReadable(int(fd)) })
	}
}
