package qemu

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// procPollInterval is how often an attached process without a pidfd is looked for in /proc.
const procPollInterval = 250 * time.Millisecond

// Attach finds the instance's QEMU again after a daemon restart: the PID in Paths.PIDFile must be a
// live process whose cmdline holds -uuid <uuid>. Otherwise, also for a stale pidfile naming some
// other process, it returns ErrNotRunning and that PID is never signalled. Exited of the returned
// Process is closed when QEMU exits; ExitStatus cannot say how, as QEMU is not our child.
func Attach(paths Paths, uuid string) (*Process, error) {
	pid, start, err := findRunning(paths, uuid)
	if err != nil {
		return nil, fmt.Errorf("attach qemu %s: %w", uuid, err)
	}
	p := &Process{pid: pid, startTime: start, uuid: uuid, paths: paths, exited: make(chan struct{})}
	pidfd, err := openPidfd(pid)
	if err != nil {
		go p.watchProc()
		return p, nil
	}
	// The PID may have been reused between findRunning and pidfd_open; now that the pidfd pins
	// one process, check that it is still ours.
	if err := verify(pid, start, uuid); err != nil {
		pidfd.Close()
		return nil, fmt.Errorf("attach qemu %s: %w", uuid, asNotRunning(err))
	}
	p.pidfd = pidfd
	go p.watchPidfd()
	return p, nil
}

// findRunning returns the PID and start time of the instance's running QEMU, or ErrNotRunning.
func findRunning(paths Paths, uuid string) (pid int, start uint64, err error) {
	if !uuidRE.MatchString(uuid) {
		return 0, 0, invalidf("uuid %q is not a lower-case UUID", uuid)
	}
	pid, err = readPIDFile(paths.PIDFile)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	start, err = identify(pid, uuid)
	if err != nil {
		return 0, 0, asNotRunning(err)
	}
	return pid, start, nil
}

// asNotRunning turns ErrNotOurs into ErrNotRunning: a pidfile naming another process is stale.
func asNotRunning(err error) error {
	if errors.Is(err, ErrNotOurs) {
		return fmt.Errorf("stale pidfile: %w (%v)", ErrNotRunning, err)
	}
	return err
}

// openPidfd opens a non-blocking pidfd, so that Go's poller can wait for the exit without a thread.
func openPidfd(pid int) (*os.File, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.EINVAL) { // Linux < 5.10 has no PIDFD_NONBLOCK
		if fd, err = unix.PidfdOpen(pid, 0); err == nil {
			if err = unix.SetNonblock(fd, true); err != nil {
				unix.Close(fd)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	return os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid)), nil
}

// watchPidfd waits until the pidfd becomes readable, which is when the process exits.
func (p *Process) watchPidfd() {
	rc, err := p.pidfd.SyscallConn()
	if err == nil {
		err = rc.Read(func(fd uintptr) bool { return pidfdReadable(int(fd)) })
	}
	if err != nil { // not pollable: fall back to /proc
		p.watchProc()
	} else {
		p.markExited(statusNotChild)
	}
	p.pidfd.Close()
}

func pidfdReadable(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// watchProc polls /proc until the PID is gone, a zombie, or another process.
func (p *Process) watchProc() {
	for {
		time.Sleep(procPollInterval)
		err := verify(p.pid, p.startTime, p.uuid)
		if errors.Is(err, ErrNotRunning) || errors.Is(err, ErrNotOurs) {
			p.markExited(statusNotChild)
			return
		}
	}
}
