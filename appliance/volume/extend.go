package volume

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// An extend grows a volume in three steps, driven by its caller (compute, which knows whether a
// QEMU holds the file): BeginExtend records the intent (status extending), the file grows — by
// QEMU's block_resize while an instance runs with it, else by ResizeFile — and EndExtend records
// the outcome. Volumes only grow; preallocation does not apply to the added space.

// BeginExtend validates the new size (only bigger: 400 otherwise) against the volume, its pool
// and the project's quota, and records the extend task. The volume returned names its attachment.
func (s *Service) BeginExtend(_ context.Context, projectID, idOrName string, sizeGiB int) (*Volume, error) {
	var v *Volume
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if v, err = volumes.Lookup(tx, projectID, idOrName); err != nil {
			return err
		}
		if err := s.checkExtend(tx, v, sizeGiB); err != nil {
			return err
		}
		if err := s.checkQuota(tx, v.ProjectID, 0, 0, sizeGiB-v.SizeGiB); err != nil {
			return err
		}
		return save(tx, v, func(*store.Tx, *Volume) error { return begin(v, taskExtend, "extend", StatusAvailable, StatusInUse) })
	})
	if err != nil {
		return nil, fmt.Errorf("extend volume %s: %w", idOrName, err)
	}
	return v, nil
}

// ResizeFile grows an extending volume's file with qemu-img: for a volume no running QEMU holds.
func (s *Service) ResizeFile(ctx context.Context, volumeID string, sizeGiB int) error {
	v, err := s.inTask(volumeID, taskExtend)
	if err != nil {
		return fmt.Errorf("resize volume %s: %w", volumeID, err)
	}
	return s.img.resize(ctx, v.Path, int64(sizeGiB)*GiB)
}

// EndExtend ends the extend task: the record takes the new size, or, when cause says the file did
// not grow, keeps the old one with the reason in Fault (and cause is returned).
func (s *Service) EndExtend(_ context.Context, volumeID string, sizeGiB int, cause error) (*Volume, error) {
	v, err := s.change("", volumeID, func(tx *store.Tx, v *Volume) error {
		if v.Task != taskExtend {
			return faultf(ErrConflict, "volume %s is not extending", v.Name)
		}
		end(v)
		if cause != nil {
			v.Fault = fmt.Sprintf("extend to %d GiB failed: %v", sizeGiB, cause)
			return nil
		}
		old := v.SizeGiB
		v.SizeGiB, v.Fault = sizeGiB, ""
		return appendEvent(tx, "volume.extended", "volume", v.ID, v.ProjectID, map[string]any{"old_size_gib": old, "size_gib": sizeGiB})
	})
	if cause != nil {
		return nil, fmt.Errorf("extend volume %s: %w", volumeID, cause)
	}
	if err != nil {
		return nil, fmt.Errorf("extend volume %s: %w", volumeID, err)
	}
	return v, nil
}

// checkExtend validates the new size against the volume and its pool.
func (s *Service) checkExtend(tx *store.Tx, v *Volume, sizeGiB int) error {
	if sizeGiB <= v.SizeGiB {
		return faultf(ErrInvalid, "cannot extend volume %s to %d GiB: it has %d GiB and volumes only grow", v.Name, sizeGiB, v.SizeGiB)
	}
	cs := int64(DefaultClusterSize)
	if p, err := pools.Get(tx, v.PoolID); err == nil {
		cs = p.ClusterSize
	}
	if max := maxBytes(cs); int64(sizeGiB)*GiB > max {
		return faultf(ErrInvalid, "cannot extend volume %s to %d GiB: the limit is %d GiB", v.Name, sizeGiB, max/GiB)
	}
	return nil
}

// inTask reads a volume that must be in the middle of task (a step of a task its caller began).
func (s *Service) inTask(volumeID, task string) (*Volume, error) {
	var v *Volume
	err := s.db.View(func(tx *store.Tx) (err error) {
		v, err = volumes.Get(tx, volumeID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if v.Task != task {
		return nil, faultf(ErrConflict, "volume %s is not in task %s (it is in %q)", v.Name, task, v.Task)
	}
	return v, nil
}
