package compute

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/qemu"
)

// actCall runs a function on the supervisor's goroutine, serialized with everything else it does.
const actCall Action = "call"

// supervisorKey marks a context that belongs to a command running on a supervisor, so a call that comes
// back to the same instance from the command itself runs in place instead of waiting behind itself.
type supervisorKey struct{}

// ErrNotRunning: the instance has no running QEMU, so a live operation has nothing to act on.
var ErrNotRunning = errors.New("instance is not running")

// call runs fn on instance id's supervisor and waits for its result or ctx.
func (s *Service) call(ctx context.Context, id string, fn func(context.Context, *supervisor) error) error {
	if sv, ok := ctx.Value(supervisorKey{}).(*supervisor); ok && sv.id == id {
		return fn(ctx, sv)
	}
	reply := make(chan error, 1)
	cmd := command{action: actCall, reply: reply, call: func(svctx context.Context, sv *supervisor) error {
		if err := ctx.Err(); err != nil {
			return err // the caller gave up while this was queued
		}
		return fn(ctx, sv)
	}}
	if err := s.submit(id, cmd); err != nil {
		return err
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("instance %s is busy: %w", id, ctx.Err())
	}
}

// AttachVolume attaches a volume to an instance: hot-plugged on a spare root port when QEMU runs, or
// recorded for the next boot when it is stopped (cold attach). The volume is reserved first, so two
// attaches of one volume cannot both win; a failed plug releases it again.
func (s *Service) AttachVolume(ctx context.Context, projectID, instanceRef, volumeRef string, deleteOnTermination bool) (Volume, error) {
	inst, err := s.Get(ctx, projectID, instanceRef)
	if err != nil {
		return Volume{}, err
	}
	if err := canChangeDisks(inst); err != nil {
		return Volume{}, err
	}
	vol, err := s.o.Volumes.Reserve(ctx, inst.ProjectID, volumeRef, inst.ID)
	if err != nil {
		return Volume{}, err
	}
	crashpoint.Hit(crashpoint.AttachReserved)
	err = s.call(ctx, inst.ID, func(ctx context.Context, sv *supervisor) error { return sv.attach(ctx, &vol, deleteOnTermination) })
	if err != nil {
		s.o.Volumes.Detached(context.WithoutCancel(ctx), vol.ID)
		return Volume{}, fmt.Errorf("attach volume %s to instance %s: %w", vol.Name, inst.Name, err)
	}
	s.recordEvent(inst.ID, "instance.volume_attached", map[string]string{"volume_id": vol.ID, "port": vol.Port})
	return vol, nil
}

// canChangeDisks: disks can change on a running, paused or stopped instance; a suspended one must resume
// with exactly the devices it was saved with.
func canChangeDisks(inst *Instance) error {
	switch {
	case inst.TaskState != TaskNone:
		return errConflict("instance %s is busy (task_state %s)", inst.Name, inst.TaskState)
	case inst.VMState == VMActive, inst.VMState == VMPaused, inst.VMState == VMStopped:
		return nil
	}
	return errConflict("cannot change the disks of instance %s while vm_state is %s", inst.Name, inst.VMState)
}

// attach runs on the supervisor: pick a free port, plug the disk if QEMU runs, record the attachment.
func (sv *supervisor) attach(ctx context.Context, vol *Volume, deleteOnTermination bool) error {
	vols, err := sv.s.o.Volumes.AttachedTo(ctx, sv.id)
	if err != nil {
		return err
	}
	if vol.Port, err = freePort(vols); err != nil {
		return err
	}
	if sv.proc != nil {
		if sv.mon == nil {
			return errNoMonitor
		}
		d := diskOf(*vol)
		if err := sv.plugDisk(ctx, d); err != nil {
			return err
		}
		if vol.QoS != (DiskQoS{}) {
			if err := sv.throttleDisk(ctx, d.DeviceID(), vol.QoS); err != nil {
				sv.unplugDisk(ctx, d)
				return err
			}
		}
	}
	if err := sv.s.o.Volumes.Attached(ctx, vol.ID, vol.Port, false, deleteOnTermination); err != nil {
		if sv.proc != nil {
			sv.unplugDisk(ctx, diskOf(*vol))
		}
		return err
	}
	return nil
}

// DetachVolume unplugs a data volume (the guest must release it) and makes it available again.
func (s *Service) DetachVolume(ctx context.Context, projectID, volumeRef string) (Volume, error) {
	vol, err := s.o.Volumes.Get(ctx, projectID, volumeRef)
	if err != nil {
		return Volume{}, err
	}
	if vol.InstanceID == "" {
		return Volume{}, errConflict("volume %s is not attached", vol.Name)
	}
	if vol.Boot {
		return Volume{}, errConflict("volume %s is the boot volume of its instance: delete the instance instead", vol.Name)
	}
	inst, err := s.Get(ctx, "", vol.InstanceID)
	if err != nil {
		return Volume{}, err
	}
	if err := canChangeDisks(inst); err != nil {
		return Volume{}, err
	}
	err = s.call(ctx, inst.ID, func(ctx context.Context, sv *supervisor) error {
		if sv.proc != nil {
			if sv.mon == nil {
				return errNoMonitor
			}
			if err := sv.unplugDisk(ctx, diskOf(vol)); err != nil {
				return err
			}
		}
		return sv.s.o.Volumes.Detached(ctx, vol.ID)
	})
	if err != nil {
		return Volume{}, fmt.Errorf("detach volume %s from instance %s: %w", vol.Name, inst.Name, err)
	}
	s.recordEvent(inst.ID, "instance.volume_detached", map[string]string{"volume_id": vol.ID})
	vol.InstanceID, vol.Port = "", ""
	return vol, nil
}

// attachedVolume finds volumeID among the instance's attached volumes.
func (sv *supervisor) attachedVolume(ctx context.Context, volumeID string) (Volume, error) {
	vols, err := sv.s.o.Volumes.AttachedTo(ctx, sv.id)
	if err != nil {
		return Volume{}, err
	}
	for _, v := range vols {
		if v.ID == volumeID {
			return v, nil
		}
	}
	return Volume{}, errNotFound("volume %s is not attached to instance %s", volumeID, sv.id)
}

// liveVolume runs fn on the instance's supervisor with the attached volume's disk, or answers
// ErrNotRunning when the instance has no QEMU (the caller then has the volume service do the file
// step). Compute never calls the volume service for these: the API layer drives the volume's steps.
func (s *Service) liveVolume(ctx context.Context, instanceID, volumeID string, fn func(context.Context, *supervisor, qemu.Disk) error) error {
	return s.call(ctx, instanceID, func(ctx context.Context, sv *supervisor) error {
		v, err := sv.attachedVolume(ctx, volumeID)
		if err != nil {
			return err
		}
		if sv.proc == nil {
			return fmt.Errorf("volume %s: %w", volumeID, ErrNotRunning)
		}
		if sv.mon == nil {
			return errNoMonitor
		}
		return fn(ctx, sv, diskOf(v))
	})
}

// ResizeVolume grows an attached volume under the running guest (block_resize).
func (s *Service) ResizeVolume(ctx context.Context, instanceID, volumeID string, bytes int64) error {
	return s.liveVolume(ctx, instanceID, volumeID, func(ctx context.Context, sv *supervisor, d qemu.Disk) error {
		return sv.resizeDisk(ctx, d.DeviceID(), bytes)
	})
}

// ThrottleVolume applies I/O limits to an attached volume in the running QEMU; a stopped instance gets
// them at its next boot from the volume's record.
func (s *Service) ThrottleVolume(ctx context.Context, instanceID, volumeID string, q DiskQoS) error {
	return s.liveVolume(ctx, instanceID, volumeID, func(ctx context.Context, sv *supervisor, d qemu.Disk) error {
		return sv.throttleDisk(ctx, d.DeviceID(), q)
	})
}

// StreamVolume flattens an attached volume under the running guest: block-stream pulls the whole
// backing chain into its top image, which then has no backing file (the files below stay, unused).
// It returns when the job has completed.
func (s *Service) StreamVolume(ctx context.Context, instanceID, volumeID string) error {
	return s.liveVolume(ctx, instanceID, volumeID, func(ctx context.Context, sv *supervisor, d qemu.Disk) error {
		return sv.streamDisk(ctx, d.Name, d.DeviceID())
	})
}

// SnapshotVolume makes a running QEMU continue on overlay, a new qcow2 file whose backing file is the
// volume's current top image; a stopped instance opens the overlay at its next boot.
func (s *Service) SnapshotVolume(ctx context.Context, instanceID, volumeID, overlay string) error {
	if _, err := os.Stat(overlay); err != nil {
		return fmt.Errorf("snapshot overlay: %w", err)
	}
	return s.liveVolume(ctx, instanceID, volumeID, func(ctx context.Context, sv *supervisor, d qemu.Disk) error {
		node := overlayPrefix(d) + strconv.FormatInt(sv.s.now().UnixNano()%1e12, 36)
		thaw, frozen := sv.freezeGuest()
		defer thaw()
		if frozen {
			sv.s.recordEvent(sv.id, "instance.fs_frozen", map[string]string{"volume_id": volumeID})
		}
		return sv.snapshotDisk(ctx, d.DeviceID(), overlay, node)
	})
}
