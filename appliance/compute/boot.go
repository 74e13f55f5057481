package compute

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"cloudlet/appliance/qemu"
)

// OVMF firmware files (Debian's ovmf package), used when an image asks for UEFI.
const (
	ovmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// paths are the instance's QEMU files.
func (sv *supervisor) paths() qemu.Paths { return sv.s.paths(sv.id) }

func (s *Service) paths(id string) qemu.Paths { return qemu.PathsFor(s.runDir(id), s.stateDir(id)) }

// spec is the QEMU spec of the instance as recorded, with its attached volumes.
func (sv *supervisor) spec(inst *Instance, vols []Volume) qemu.Spec {
	spec := qemu.Spec{
		UUID: inst.ID, Binary: sv.s.o.QEMU, Accel: sv.s.o.Accel,
		VCPUs: inst.Flavor.VCPUs, MemoryMiB: inst.Flavor.RAMMiB,
		Firmware: qemu.Firmware{Kind: inst.Boot.Firmware},
		Kernel:   inst.Boot.Kernel, Initrd: inst.Boot.Initrd, Cmdline: inst.Boot.Cmdline,
		Disks:        disks(vols),
		Paths:        sv.paths(),
		HotplugPorts: qemu.MaxHotplugPorts, // room for volumes (and NICs) attached while it runs
	}
	if inst.Boot.Firmware == "uefi" {
		spec.Firmware.Code, spec.Firmware.Vars = ovmfCode, sv.s.nvramPath(sv.id)
	}
	return spec
}

// boot brings the instance up through the launch steps (launch.go): what it lacks is made, QEMU is
// started paused, a saved state restored when incoming is set, cont sent and the result recorded. On
// failure every step done is undone, in reverse.
func (sv *supervisor) boot(ctx context.Context, inst *Instance, accepted time.Time, incoming *os.File) error {
	l := &launch{sv: sv, inst: inst, incoming: incoming, timeline: []Stage{{StageAccepted, accepted}}}
	defer l.closeTaps(ctx)
	if err := runSteps(ctx, sv.s.steps, l); err != nil {
		return err
	}
	sv.proc, sv.shutdown, sv.panicked, sv.expectExit = l.proc, nil, false, false
	sv.startConsoleWatch(l.spec.Paths.ConsoleLog, l.offset)
	sv.startAgentPoll()
	sv.startSerial()
	sv.startReadyPort()
	return nil
}

// connect dials QMP, waits out an incoming migration, applies volume I/O limits and sends cont, appending
// timeline stages.
func (sv *supervisor) connect(ctx context.Context, proc process, incoming bool, vols []Volume, timeline *[]Stage) error {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	mon, err := sv.s.hv.dial(dctx, sv.paths().QMP)
	if err != nil {
		return fmt.Errorf("connect to QEMU monitor: %w", err)
	}
	sv.mon = mon
	*timeline = append(*timeline, Stage{StageQMPReady, sv.s.now()})
	if incoming {
		if err := sv.waitIncoming(ctx); err != nil {
			return err
		}
	}
	if err := sv.applyQoS(ctx, vols); err != nil {
		return err
	}
	cctx, cancel2 := context.WithTimeout(ctx, sv.s.o.QMPTimeout)
	defer cancel2()
	if err := mon.Cont(cctx); err != nil {
		return fmt.Errorf("start vcpus (cont): %w", err)
	}
	*timeline = append(*timeline, Stage{StageCont, sv.s.now()})
	return nil
}

// applyQoS sets the recorded I/O limits of the volumes in QEMU.
func (sv *supervisor) applyQoS(ctx context.Context, vols []Volume) error {
	for _, v := range vols {
		if v.QoS != (DiskQoS{}) {
			if err := sv.throttleDisk(ctx, diskOf(v).DeviceID(), v.QoS); err != nil {
				return fmt.Errorf("apply I/O limits of volume %s: %w", v.Name, err)
			}
		}
	}
	return nil
}

// volumes lists the instance's volumes and checks their files are there.
func (sv *supervisor) volumes(ctx context.Context, inst *Instance) ([]Volume, error) {
	vols, err := sv.s.o.Volumes.AttachedTo(ctx, inst.ID)
	if err != nil {
		return nil, fmt.Errorf("volumes of instance %s: %w", inst.Name, err)
	}
	if _, err := bootVolume(vols); err != nil {
		return nil, fmt.Errorf("instance %s: %w", inst.Name, err)
	}
	for _, v := range vols {
		if _, err := os.Stat(v.Path); err != nil {
			return nil, fmt.Errorf("disk of volume %s is missing: %w", v.Name, err)
		}
	}
	return vols, nil
}

// restoreBound bounds how long a QEMU may take to load a saved state.
const restoreBound = 5 * time.Minute

// waitIncoming polls until QEMU has loaded a saved state.
func (sv *supervisor) waitIncoming(ctx context.Context) error {
	deadline := time.Now().Add(restoreBound)
	for time.Now().Before(deadline) {
		qctx, cancel := context.WithTimeout(ctx, sv.s.o.QMPTimeout)
		st, err := sv.mon.QueryStatus(qctx)
		cancel()
		if err != nil {
			return fmt.Errorf("restore saved state: %w", err)
		}
		if st.Status != "inmigrate" {
			return nil
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("restore saved state: timed out")
}

// kill stops a QEMU that failed to come up and removes its runtime files.
func (sv *supervisor) kill(proc process) {
	sv.closeMonitor()
	kctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := proc.Kill(kctx); err != nil && !errors.Is(err, qemu.ErrNotOurs) {
		sv.s.log.Warn("kill QEMU", "instance", sv.id, "pid", proc.PID(), "err", err)
	}
	sv.cleanupRun()
}

func (sv *supervisor) cleanupRun() {
	if err := sv.s.hv.cleanup(sv.paths()); err != nil {
		sv.s.log.Warn("remove runtime files", "instance", sv.id, "err", err)
	}
}

// afterExit forgets the exited QEMU and removes its runtime files.
func (sv *supervisor) afterExit() {
	sv.closeMonitor()
	sv.stopConsoleWatch()
	sv.stopAgentPoll()
	sv.stopSerial()
	sv.stopReadyPort()
	sv.proc, sv.restoring = nil, time.Time{}
	sv.cleanupRun()
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
