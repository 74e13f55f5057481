package compute

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/qemu"
)

// Bringing an instance up (spawn, start, resume, the boot after a rebuild) is a list of named steps,
// each with the undo of what it did, in the shape of firecracker-go-sdk's handler lists: runSteps does
// them in order and, when step k fails, undoes steps k-1..1 in reverse, so a start that fails leaves
// nothing it made behind (state dir, ports, boot volume, open taps, QEMU and its runtime files). A step
// cleans up its own partial work before it returns an error. Each step does only what is missing (a
// stopped instance has its ports and boot volume already) and undoes only what it made, so one list
// serves every kind of start. A new stage of the start is one more line here.
func launchSteps() []step {
	return []step{
		{"state dir", (*launch).makeStateDir, (*launch).removeStateDir},
		{"ports", (*launch).makePorts, (*launch).releasePorts},
		{"boot volume", (*launch).makeBootVolume, (*launch).deleteBootVolume},
		{"volumes", (*launch).listVolumes, nil},
		{"cdroms", (*launch).insertCDROMs, nil}, // makes nothing (cdrom.go)
		{"taps", (*launch).openTaps, (*launch).closeTaps},
		{"seed", (*launch).writeSeed, (*launch).removeSeedStep},
		{"qemu", (*launch).exec, (*launch).kill},
		{"monitor", (*launch).connect, nil}, // the qemu step's undo closes it with the process
		{"record running", (*launch).recordRunning, nil},
	}
}

// step is one named stage of a start with the undo of what it did (nil: nothing to undo).
type step struct {
	name string
	do   func(*launch, context.Context) error
	undo func(*launch, context.Context)
}

// runSteps does steps in order; when one fails it undoes the ones before it in reverse, under a context
// that a pre-empting delete has not cancelled, and returns the error named after the failed step.
func runSteps(ctx context.Context, steps []step, l *launch) error {
	for k, st := range steps {
		if err := st.do(l, ctx); err != nil {
			undoSteps(context.WithoutCancel(ctx), steps[:k], l)
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return nil
}

func undoSteps(ctx context.Context, done []step, l *launch) {
	for k := len(done) - 1; k >= 0; k-- {
		if done[k].undo != nil {
			done[k].undo(l, ctx)
		}
	}
}

// launch is one start in progress: its input and what its steps made, for the steps after them and for
// their undo.
type launch struct {
	sv       *supervisor
	inst     *Instance
	incoming *os.File // a saved state to restore (resume), or nil

	madeDir, madePorts, madeVolume bool
	vols                           []Volume
	spec                           qemu.Spec
	opts                           qemu.StartOptions
	opened                         []*os.File // tap and vhost-net fds for QEMU, closed once it has its copies
	proc                           process
	timeline                       []Stage
	offset                         int64 // console log size before this boot
}

func (l *launch) s() *Service { return l.sv.s }

func (l *launch) makeStateDir(context.Context) error {
	_, err := os.Stat(l.s().stateDir(l.inst.ID))
	l.madeDir = errors.Is(err, os.ErrNotExist)
	return l.s().prepareState(l.inst)
}

func (l *launch) removeStateDir(context.Context) {
	if !l.madeDir {
		return
	}
	if err := os.RemoveAll(l.s().stateDir(l.inst.ID)); err != nil {
		l.s().log.Warn("undo start: remove state dir", "instance", l.inst.ID, "err", err)
	}
}

// makePorts gives an instance that wants NICs and has none its ports (a first boot, or a start after a
// failed one released them).
func (l *launch) makePorts(ctx context.Context) error {
	if l.inst.PortIDs != nil || !wantsNICs(l.inst) {
		return nil
	}
	if l.s().o.Networks != nil { // ports of a record from before NIC order was recorded
		bound, err := l.s().o.Networks.InstancePorts(ctx, l.inst.ID)
		if err != nil || len(bound) > 0 {
			return err
		}
	}
	if err := l.s().makePorts(ctx, l.inst); err != nil {
		return err
	}
	l.madePorts = true
	return l.reload()
}

func (l *launch) releasePorts(ctx context.Context) {
	if !l.madePorts {
		return
	}
	if err := l.s().forgetNICs(ctx, l.inst); err != nil {
		l.s().log.Warn("undo start: release ports", "instance", l.inst.ID, "err", err)
	}
}

// makeBootVolume gives an instance without a boot volume attached its boot volume: the one it was
// given is marked attached, one from its image is made and recorded.
func (l *launch) makeBootVolume(ctx context.Context) error {
	vols, err := l.s().o.Volumes.AttachedTo(ctx, l.inst.ID)
	if err != nil {
		return fmt.Errorf("volumes of instance %s: %w", l.inst.Name, err)
	}
	if _, err := bootVolume(vols); err == nil {
		return nil
	}
	if l.inst.BootFromVolume { // the user's volume stays the instance's whatever happens next
		return l.s().o.Volumes.Attached(ctx, l.inst.BootVolumeID, "", true, false)
	}
	id, err := l.s().makeBootVolume(ctx, l.inst)
	if err != nil {
		return err
	}
	if _, err := l.s().updateRetrying(l.inst.ID, false, func(i *Instance) error { i.BootVolumeID = id; return nil }); err != nil {
		l.s().dropVolume(context.WithoutCancel(ctx), l.inst, id)
		return fmt.Errorf("record boot volume %s: %w", id, err)
	}
	l.madeVolume = true
	crashpoint.Hit(crashpoint.BootDiskMade)
	return l.reload()
}

func (l *launch) deleteBootVolume(ctx context.Context) {
	if !l.madeVolume {
		return
	}
	if !l.s().dropVolume(ctx, l.inst, l.inst.BootVolumeID) {
		return // kept, attached and named: the next start boots from it, the delete takes it
	}
	if _, err := l.s().updateRetrying(l.inst.ID, false, func(i *Instance) error { i.BootVolumeID = ""; return nil }); err != nil {
		l.s().log.Warn("undo start: forget the boot volume", "instance", l.inst.ID, "err", err)
	}
}

// dropVolume detaches and deletes a volume compute made for inst, and reports whether it did. One whose
// delete would be refused (a snapshot being taken of it, or one taken since) is left as it is,
// attached: detached and then refused, it was named by no one, and the instance's delete left it behind.
func (s *Service) dropVolume(ctx context.Context, inst *Instance, id string) bool {
	if s.o.VolumeCheck != nil {
		if why, err := s.o.VolumeCheck.CheckDelete(ctx, inst.ProjectID, id); err != nil || why != "" {
			s.log.Warn("undo start: boot volume kept", "instance", inst.ID, "volume", id, "reason", cmp.Or(why, fmt.Sprint(err)))
			return false
		}
	}
	if err := s.o.Volumes.Detached(ctx, id); err != nil {
		s.log.Warn("undo start: detach volume", "instance", inst.ID, "volume", id, "err", err)
	}
	if err := s.o.Volumes.Delete(ctx, inst.ProjectID, id); err != nil {
		s.log.Warn("undo start: delete volume", "instance", inst.ID, "volume", id, "err", err)
	}
	return true
}

// listVolumes lists the disks and builds QEMU's spec from them.
func (l *launch) listVolumes(ctx context.Context) error {
	vols, err := l.sv.volumes(ctx, l.inst)
	if err != nil {
		return err
	}
	l.vols, l.spec = vols, l.sv.spec(l.inst, vols)
	l.opts = qemu.StartOptions{Credential: l.s().o.Credential}
	if l.incoming != nil {
		l.spec.IncomingFD, l.opts.ExtraFiles = 3, []*os.File{l.incoming}
	}
	return nil
}

// openTaps opens the taps of the instance's ports for QEMU.
func (l *launch) openTaps(ctx context.Context) error {
	before := len(l.opts.ExtraFiles)
	nics, files, err := l.s().openNICs(ctx, l.inst, l.opts.ExtraFiles)
	if err != nil {
		return err
	}
	l.spec.NICs, l.opts.ExtraFiles, l.opened = nics, files, files[before:]
	return nil
}

// closeTaps closes the fds opened for QEMU: once it runs it has its own copies.
func (l *launch) closeTaps(context.Context) {
	closeFiles(l.opened)
	l.opened = nil
}

// exec starts QEMU, paused; it returns once QEMU answers on its monitor socket.
func (l *launch) exec(context.Context) error {
	if !filepath.IsAbs(l.s().o.QEMU) {
		return fmt.Errorf("QEMU binary %s not found: install qemu-system-x86 (see cloudlet doctor)", l.s().o.QEMU)
	}
	l.offset = fileSize(l.spec.Paths.ConsoleLog)
	l.timeline = append(l.timeline, Stage{StageExec, l.s().now()})
	proc, err := l.s().hv.start(l.spec, l.opts)
	if err != nil {
		l.sv.cleanupRun()
		return err
	}
	l.proc = proc
	if l.incoming != nil {
		crashpoint.Hit(crashpoint.ResumeExec)
	}
	return nil
}

func (l *launch) kill(context.Context) { l.sv.kill(l.proc) }

func (l *launch) connect(ctx context.Context) error {
	return l.sv.connect(ctx, l.proc, l.incoming != nil, l.vols, &l.timeline)
}

// recordRunning records the instance active with its QEMU: the start's commit point.
func (l *launch) recordRunning(context.Context) error {
	now := l.s().now()
	pid, start := l.proc.PID(), l.proc.StartTime()
	_, err := l.s().updateRetrying(l.inst.ID, false, func(i *Instance) error {
		transition{VM: VMActive, Power: PowerRunning}.apply(i)
		i.PID, i.PIDStartTime, i.LaunchedAt, i.Timeline = pid, start, &now, l.timeline
		return nil
	})
	return err
}

// reload rereads the record a step changed.
func (l *launch) reload() error {
	inst, err := l.s().Get(context.Background(), "", l.inst.ID)
	if err != nil {
		return err
	}
	l.inst = inst
	return nil
}
