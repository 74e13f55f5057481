package volume

import (
	"os/exec"
	"runtime"
	"syscall"
)

// runDyingWithTheDaemon runs cmd so that the kernel kills it (SIGKILL) if the daemon dies first. A
// qemu-img that outlived a killed daemon kept its write lock on the volume's file, and the next
// start's clean-up (which reruns the interrupted rebase) failed on that lock, so the daemon did not
// start (found by the crash-cycle harness). The death signal follows the thread that forked the child,
// so that thread stays locked to this goroutine until the child has exited.
func runDyingWithTheDaemon(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return cmd.Run()
}
