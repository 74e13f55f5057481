package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// statusNotChild is ExitStatus for an attached process: only its parent learns how it ended.
const statusNotChild = "exited (not our child)"

// Process is one running QEMU, either started by this daemon (Start) or found again (Attach).
// Its methods are safe for concurrent use.
type Process struct {
	pid       int
	startTime uint64
	uuid      string
	paths     Paths
	exited    chan struct{} // closed once the process is gone

	// At most one of child and pidfd is set; an attached process without a pidfd is watched in /proc.
	child *os.Process // started here: signalled through os.Process, reaped by cmd.Wait
	pidfd *os.File    // attached: pins the process, so signals cannot reach a reused PID

	mu     sync.Mutex // guards status
	status string
}

// PID returns the process id.
func (p *Process) PID() int { return p.pid }

// StartTime returns the start time from /proc/<pid>/stat, in clock ticks after boot.
func (p *Process) StartTime() uint64 { return p.startTime }

// UUID returns the instance id the process was started with.
func (p *Process) UUID() string { return p.uuid }

// Paths returns the instance's files.
func (p *Process) Paths() Paths { return p.paths }

// Exited is closed when the process is gone (a started child has also been reaped by then).
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitStatus says how the process ended: "exit status 1", "signal: killed", or, for an attached
// process, "exited (not our child)". It is "" while the process runs.
func (p *Process) ExitStatus() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// markExited records the exit status and closes Exited; only the one watcher goroutine calls it.
func (p *Process) markExited(status string) {
	p.mu.Lock()
	p.status = status
	p.mu.Unlock()
	close(p.exited)
}

// Signal sends sig after checking again that the PID is still this instance's QEMU (same start time,
// -uuid in its cmdline). It returns ErrNotRunning when the process is gone and ErrNotOurs, without
// signalling, when the PID now belongs to another process.
func (p *Process) Signal(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return fmt.Errorf("signal %v to qemu %s (pid %d): %w", sig, p.uuid, p.pid, ErrNotRunning)
	default:
	}
	if err := verify(p.pid, p.startTime, p.uuid); err != nil {
		return fmt.Errorf("signal %v to qemu %s: %w", sig, p.uuid, err)
	}
	if err := p.send(sig); err != nil {
		return fmt.Errorf("signal %v to qemu %s (pid %d): %w", sig, p.uuid, p.pid, err)
	}
	return nil
}

// send delivers sig by the safest handle there is: os.Process (itself pidfd-based) for a child,
// the pidfd for an attached process, kill(2) only as the fallback.
func (p *Process) send(sig syscall.Signal) error {
	switch {
	case p.child != nil:
		err := p.child.Signal(sig)
		if errors.Is(err, os.ErrProcessDone) {
			return ErrNotRunning
		}
		return err
	case p.pidfd != nil:
		return sendPidfd(p.pidfd, sig)
	}
	err := syscall.Kill(p.pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return ErrNotRunning
	}
	return err
}

func sendPidfd(pidfd *os.File, sig syscall.Signal) error {
	rc, err := pidfd.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.PidfdSendSignal(int(fd), sig, nil, 0) }); err != nil {
		return ErrNotRunning // the watcher closed the pidfd: the process has exited
	}
	if errors.Is(serr, syscall.ESRCH) {
		return ErrNotRunning
	}
	return serr
}

// Kill sends SIGKILL (through Signal, so never to a reused PID) and waits until Exited is closed or
// ctx ends. A process that is already gone is not an error.
func (p *Process) Kill(ctx context.Context) error {
	if err := p.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	select {
	case <-p.exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kill qemu %s (pid %d): wait for exit: %w", p.uuid, p.pid, context.Cause(ctx))
	}
}

// StderrTail returns the last n lines QEMU wrote to its stdout and stderr (Paths.StderrLog).
func (p *Process) StderrTail(n int) string { return tailLines(p.paths.StderrLog, n) }
