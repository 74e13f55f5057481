package qemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"cloudlet/appliance/crashpoint"
)

// DefaultReadyTimeout bounds Start's wait for QEMU to come up.
const DefaultReadyTimeout = 10 * time.Second

// stderrTailLines is how much of QEMU's own output a start error quotes.
const stderrTailLines = 20

// StartOptions are how Start runs QEMU, as opposed to what QEMU runs (the Spec).
type StartOptions struct {
	Credential   *syscall.Credential // run QEMU as this user; nil keeps the daemon's
	ExtraFiles   []*os.File          // fds 3, 4, … inside QEMU (taps, vhost-net, incoming state)
	ReadyTimeout time.Duration       // 0 means DefaultReadyTimeout
}

// Start starts QEMU for spec, paused (-S), in its own session so that it outlives the daemon, and
// returns once QEMU answers a QMP command, i.e. QEMU has opened every disk and created every
// device; the caller then connects to Paths.QMP and sends "cont". If QEMU exits first or does not
// come up in time, Start kills it, removes the pidfile and sockets (keeping Paths.StderrLog), and
// returns an error quoting QEMU's last lines of output.
//
// It refuses (ErrRunning) while the instance's QEMU runs. The caller may close opts.ExtraFiles once
// Start returns. With opts.Credential, that user must be able to read the disks, kernel and
// firmware and write the disks and UEFI vars; Start only gives it the run and state directories.
func Start(spec Spec, opts StartOptions) (*Process, error) {
	argv, err := spec.Argv()
	if err != nil {
		return nil, err
	}
	if pid, _, err := findRunning(spec.Paths, spec.UUID); err == nil {
		return nil, fmt.Errorf("start qemu %s: pid %d: %w", spec.UUID, pid, ErrRunning)
	}
	if err := prepareRunDirs(spec.Paths, opts.Credential); err != nil {
		return nil, fmt.Errorf("start qemu %s: %w", spec.UUID, err)
	}
	p, err := spawn(spec, argv, opts)
	if err != nil {
		return nil, fmt.Errorf("start qemu %s: %w", spec.UUID, err)
	}
	if err := p.waitReady(opts.readyTimeout()); err != nil {
		p.abort()
		return nil, fmt.Errorf("start qemu %s: %w\nqemu output:\n%s", spec.UUID, err, p.StderrTail(stderrTailLines))
	}
	return p, nil
}

func (o StartOptions) readyTimeout() time.Duration {
	if o.ReadyTimeout > 0 {
		return o.ReadyTimeout
	}
	return DefaultReadyTimeout
}

// prepareRunDirs creates the run and state directories (0700, owned by QEMU's user so that it can
// create its sockets and console log; missing parents 0711, so that user can reach them) and
// removes what a previous QEMU may have left behind.
func prepareRunDirs(p Paths, cred *syscall.Credential) error {
	for _, dir := range []string{p.RunDir, p.StateDir} {
		if err := os.MkdirAll(filepath.Dir(dir), 0o711); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
		}
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
		if cred != nil {
			if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("chown %s: %w", dir, err)
			}
		}
	}
	return removeRuntimeFiles(p)
}

// spawn starts the QEMU process, writes the pidfile and starts the reaper goroutine.
func spawn(spec Spec, argv []string, opts StartOptions) (*Process, error) {
	logFile, err := os.OpenFile(spec.Paths.StderrLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open qemu log: %w", err)
	}
	defer logFile.Close() // QEMU has its own copy
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = opts.ExtraFiles
	cmd.Env = []string{} // nothing of the daemon's environment
	cmd.Dir = "/"
	// Setsid and no Pdeathsig: QEMU must survive the daemon's exit or restart.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: opts.Credential}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// Not reaped yet, so /proc/<pid> exists even if QEMU has already died.
	st, err := readStat(cmd.Process.Pid)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	p := &Process{
		pid: cmd.Process.Pid, startTime: st.startTime, uuid: spec.UUID, paths: spec.Paths,
		exited: make(chan struct{}), child: cmd.Process,
	}
	go p.reap(cmd)
	crashpoint.Hit(crashpoint.QEMUExec)
	if err := writePIDFile(spec.Paths.PIDFile, p.pid); err != nil {
		p.abort()
		return nil, err
	}
	return p, nil
}

// waitReady waits until QEMU answers on its QMP socket, QEMU exits, or timeout passes.
func (p *Process) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := greeted(p.paths.QMP, deadline); err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("qemu exited during startup (%s)", p.ExitStatus())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("qemu not ready after %v: no QMP answer on %s", timeout, p.paths.QMP)
		}
	}
}

// greeted connects to the QMP socket and waits for the answer to qmp_capabilities, then hangs up.
// The greeting alone proves little: QEMU's monitor thread sends it while the machine may still be
// being built. Commands are answered from the main loop, i.e. after every disk is open and every
// device exists. QEMU serves one QMP client at a time and takes the next once this one is gone.
func greeted(qmpSocket string, deadline time.Time) error {
	if fi, err := os.Lstat(qmpSocket); err != nil || fi.Mode()&os.ModeSocket == 0 {
		return errors.New("no qmp socket yet")
	}
	conn, err := net.DialTimeout("unix", qmpSocket, time.Until(deadline))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, `{"QMP"`) {
		return fmt.Errorf("qmp greeting %q: %v", line, err)
	}
	if _, err := io.WriteString(conn, `{"execute":"qmp_capabilities"}`+"\n"); err != nil {
		return err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, `{"return"`) {
			return nil
		}
		if strings.HasPrefix(line, `{"error"`) {
			return fmt.Errorf("qmp_capabilities: %s", strings.TrimSpace(line))
		}
	}
}

// abort kills a QEMU that failed to start and removes its pidfile and sockets.
func (p *Process) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.Kill(ctx)
	removeRuntimeFiles(p.paths)
}
