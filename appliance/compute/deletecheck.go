package compute

import (
	"context"
	"fmt"
	"slices"
	"time"

	"cloudlet/appliance/fault"
)

// A delete that was accepted waits for a task begun since on one of its volumes (a snapshot, an
// extend) to end, checking again every deleteRecheck, for at most deleteTaskWait: the caller was told
// the instance goes, so it must not come back because of a task that ends by itself in seconds.
const (
	deleteRecheck  = 200 * time.Millisecond
	deleteTaskWait = 15 * time.Minute
)

// VolumeDeleteCheck is the volume service's answer, changing nothing, to what deleting a volume would
// meet once nothing uses it: dependents names what depends on it (its snapshots, volumes based on
// them), which makes its delete refused for as long as they exist; err is any other refusal (a task
// running on it).
type VolumeDeleteCheck interface {
	CheckDelete(ctx context.Context, projectID, volumeID string) (dependents string, err error)
}

// keptVolumes maps the ID of each volume that goes with an instance but is kept to why.
type keptVolumes map[string]string

// checkDelete decides, before anything is touched, what the delete does with every volume that goes
// with the instance (delete_on_termination, or the boot volume made from its image): one that something
// depends on is kept (detached, available, with its snapshots), as Nova does, since its delete would be
// refused for as long as that lasts; any other refusal (a task running on it) refuses the whole
// delete, so it never stops half way with the ports released and the volumes detached.
func (s *Service) checkDelete(ctx context.Context, inst *Instance) (keptVolumes, error) {
	if s.o.VolumeCheck == nil {
		return nil, nil
	}
	vols, err := s.volumesOf(ctx, inst.ID)
	if err != nil {
		return nil, fmt.Errorf("delete instance %s: %w", inst.Name, err)
	}
	kept := keptVolumes{}
	for _, v := range vols {
		if !deletedWith(inst, v) {
			continue
		}
		why, err := s.o.VolumeCheck.CheckDelete(ctx, inst.ProjectID, v.ID)
		if err != nil {
			return nil, fmt.Errorf("cannot delete instance %s: its volume %s would be deleted with it: %w", inst.Name, v.Name, err)
		}
		if why != "" {
			kept[v.ID] = why
		}
	}
	return kept, nil
}

// checkDeleteWaiting is checkDelete for a delete already accepted: a passing refusal (a task running on
// a volume, fault.Conflict) is waited out rather than ending the delete; any other refusal, a wait
// longer than deleteTaskWait or the daemon stopping (ctx) ends the wait with the last reason.
func (s *Service) checkDeleteWaiting(ctx context.Context, inst *Instance) (keptVolumes, error) {
	var kept keptVolumes
	err := s.waitOutVolumeTask(ctx, inst, func() (err error) {
		kept, err = s.checkDelete(ctx, inst)
		return err
	})
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("delete instance %s: %w", inst.Name, err)
	}
	return kept, err
}

// waitOutVolumeTask calls try until it ends with anything but a passing refusal (fault.Conflict: a task
// running on a volume that goes with inst), deleteTaskWait has passed or ctx ends, and returns its last
// error (with ctx's cause when ctx ended the wait). The wait is logged once.
func (s *Service) waitOutVolumeTask(ctx context.Context, inst *Instance, try func() error) error {
	deadline, logged := time.Now().Add(deleteTaskWait), false
	for {
		err := try()
		if err == nil || fault.KindOf(err) != fault.Conflict || time.Now().After(deadline) {
			return err
		}
		if !logged {
			s.log.Info("instance delete waits for a task on a volume that goes with it", "instance", inst.ID, "reason", err.Error())
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		case <-time.After(deleteRecheck):
		}
	}
}

// volumesOf lists every volume of the instance: attached, and reserved for it (a boot volume not
// attached yet, an attach a crash cut short).
func (s *Service) volumesOf(ctx context.Context, id string) ([]Volume, error) {
	vols, err := s.o.Volumes.AttachedTo(ctx, id)
	if err != nil {
		return nil, err
	}
	reserved, err := s.o.Volumes.Reservations(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, v := range reserved {
		if !slices.ContainsFunc(vols, func(a Volume) bool { return a.ID == v.ID }) {
			vols = append(vols, v)
		}
	}
	return vols, nil
}

// deletedWith reports whether v goes when inst is deleted: marked delete_on_termination, or the boot
// volume compute made from its image.
func deletedWith(inst *Instance, v Volume) bool {
	return v.DeleteOnTermination || (v.Boot && !inst.BootFromVolume)
}

// volumeKept is the data of an instance.volume_kept event.
type volumeKept struct {
	VolumeID   string `json:"volume_id"`
	VolumeName string `json:"volume_name"`
	Boot       bool   `json:"boot"`
	Reason     string `json:"reason"`
	Message    string `json:"message"`
}

// keep records, in the instance's event log and the daemon's log, that v goes with the instance but is
// kept, and why: "boot volume root-web kept: it has snapshot nightly (…); delete its snapshots, then
// the volume".
func (s *Service) keep(inst *Instance, v Volume, why string) {
	what := "volume"
	if v.Boot {
		what = "boot volume"
	}
	msg := fmt.Sprintf("%s %s kept: %s", what, v.Name, why)
	s.log.Warn("instance delete keeps a volume that goes with it", "instance", inst.ID, "volume", v.ID, "reason", msg)
	s.recordEvent(inst.ID, "instance.volume_kept", volumeKept{VolumeID: v.ID, VolumeName: v.Name, Boot: v.Boot, Reason: why, Message: msg})
}
