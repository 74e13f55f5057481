package compute

import (
	"context"
	"syscall"

	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp"
)

// hypervisor starts, finds and connects to QEMU processes. The real one is package qemu and qmp; unit
// tests give a fake backed by qmptest.
type hypervisor interface {
	start(spec qemu.Spec, opts qemu.StartOptions) (process, error)
	attach(paths qemu.Paths, id string) (process, error)
	dial(ctx context.Context, socket string) (*qmp.Monitor, error)
	scan(runRoot string) ([]qemu.Found, error)
	cleanup(paths qemu.Paths) error
	killFound(f qemu.Found) error            // SIGKILL after re-checking its identity
	widenConsole(pid int, path string) error // see qemu.ConsoleSendBuffer
}

// process is one running QEMU; *qemu.Process is the real one.
type process interface {
	PID() int
	StartTime() uint64
	Exited() <-chan struct{}
	ExitStatus() string
	Signal(sig syscall.Signal) error
	Kill(ctx context.Context) error
	StderrTail(n int) string
}

// realHypervisor reports every QMP command to observe (nil: none).
type realHypervisor struct{ observe qmp.Observer }

// hypervisor is the one o asks for: the real one unless a unit test injected a fake.
func (o *Options) hypervisor() hypervisor {
	if o.hv != nil {
		return o.hv
	}
	return realHypervisor{observe: o.QMPObserver}
}

func (realHypervisor) start(spec qemu.Spec, opts qemu.StartOptions) (process, error) {
	p, err := qemu.Start(spec, opts)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (realHypervisor) attach(paths qemu.Paths, id string) (process, error) {
	p, err := qemu.Attach(paths, id)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (h realHypervisor) dial(ctx context.Context, socket string) (*qmp.Monitor, error) {
	return qmp.DialObserved(ctx, socket, h.observe)
}

func (realHypervisor) scan(runRoot string) ([]qemu.Found, error) { return qemu.Scan(runRoot) }
func (realHypervisor) cleanup(paths qemu.Paths) error            { return qemu.Cleanup(paths) }

func (realHypervisor) killFound(f qemu.Found) error { return qemu.KillFound(f) }

func (realHypervisor) widenConsole(pid int, path string) error {
	return qemu.WidenConsoleBuffer(pid, path, qemu.ConsoleSendBuffer)
}
