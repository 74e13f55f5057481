package web

import (
	"context"
	"errors"
	"fmt"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/volume"
)

// The operations below change a volume's disk. The volume service owns the record and the files,
// compute owns the running QEMUs, and neither calls the other for this: each operation begins in the
// volume service (which records the task), does its disk step in the running QEMU through compute
// when the volume's instance runs, or on the file through the volume service when no QEMU holds it,
// and ends in the volume service.

// extendDisk grows a volume: block_resize in a running guest, else qemu-img resize.
func (s *Server) extendDisk(ctx context.Context, projectID, ref string, sizeGiB int) (*volume.Volume, error) {
	v, err := s.opts.Volumes.BeginExtend(ctx, projectID, ref, sizeGiB)
	if err != nil {
		return nil, err
	}
	done, cause := live(v, func(instanceID string) error {
		return s.opts.Compute.ResizeVolume(ctx, instanceID, v.ID, int64(sizeGiB)*volume.GiB)
	})
	if !done {
		cause = s.opts.Volumes.ResizeFile(ctx, v.ID, sizeGiB)
	}
	return s.opts.Volumes.EndExtend(context.WithoutCancel(ctx), v.ID, sizeGiB, cause)
}

// setDiskQoS applies a volume's new limits to its running guest first (a stopped instance gets them
// at its next start), then records them; limits QEMU refuses are not recorded.
func (s *Server) setDiskQoS(ctx context.Context, projectID, ref string, q volume.QoS) (*volume.Volume, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	v, err := s.opts.Volumes.Get(ctx, projectID, ref)
	if err != nil {
		return nil, fmt.Errorf("set qos of volume %s: %w", ref, err)
	}
	if v.Status != volume.StatusReserved {
		_, err = live(v, func(instanceID string) error {
			return s.opts.Compute.ThrottleVolume(ctx, instanceID, v.ID, compute.DiskQoS{ReadIOPS: q.ReadIOPS,
				WriteIOPS: q.WriteIOPS, ReadBytesSec: q.ReadBytesSec, WriteBytesSec: q.WriteBytesSec})
		})
		if err != nil {
			return nil, fmt.Errorf("set qos of volume %s: %w", v.Name, err)
		}
	}
	return s.opts.Volumes.SetQoS(ctx, projectID, v.ID, q)
}

// snapshotDisk takes a snapshot: a full chain is flattened first (block-stream in a running guest,
// else a copy of the chain), then the new overlay is made and a running QEMU switched to it.
func (s *Server) snapshotDisk(ctx context.Context, projectID, ref, name string) (*volume.Snapshot, error) {
	p, err := s.opts.Volumes.BeginSnapshot(ctx, projectID, ref, name)
	if err != nil {
		return nil, err
	}
	v, sn := p.Volume, p.Snapshot
	flattenFile, cause := p.Flatten, error(nil)
	if p.Flatten {
		var streamed bool
		streamed, cause = live(v, func(instanceID string) error { return s.opts.Compute.StreamVolume(ctx, instanceID, v.ID) })
		if cause != nil {
			cause = fmt.Errorf("live flatten: %w", cause)
		}
		flattenFile = !streamed
	}
	if cause == nil {
		var overlay string
		if overlay, cause = s.opts.Volumes.MakeOverlay(ctx, sn.ID, flattenFile); cause == nil {
			_, cause = live(v, func(instanceID string) error {
				return s.opts.Compute.SnapshotVolume(ctx, instanceID, v.ID, overlay)
			})
			if cause != nil {
				cause = fmt.Errorf("live snapshot: %w", cause)
			}
		}
	}
	return s.opts.Volumes.EndSnapshot(context.WithoutCancel(ctx), sn.ID, cause)
}

// cloneDisk makes a volume that starts as a copy of another by overlaying a new snapshot of it
// (taken live when the source is in use); the snapshot stays as the clone's base.
func (s *Server) cloneDisk(ctx context.Context, projectID string, r volume.CreateRequest) (*volume.Volume, error) {
	c, err := s.opts.Volumes.PlanClone(ctx, projectID, r)
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshotDisk(ctx, projectID, c.Source, c.SnapshotName)
	if err != nil {
		return nil, fmt.Errorf("clone volume %s: %w", r.VolumeID, err)
	}
	return s.opts.Volumes.CloneFrom(ctx, projectID, c, sn.ID)
}

// live runs fn on the running QEMU that holds the volume, through compute. done is false when no
// QEMU holds it (the volume is not attached, or its instance is not running): the caller then works
// on the file.
func live(v *volume.Volume, fn func(instanceID string) error) (done bool, err error) {
	if v.Attachment == nil {
		return false, nil
	}
	err = fn(v.Attachment.InstanceID)
	if errors.Is(err, compute.ErrNotRunning) {
		return false, nil
	}
	return true, err
}
