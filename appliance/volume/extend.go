package volume

import (
	"context"
	"errors"
	"fmt"

	"cloudlet/store"
)

// Extend grows a volume to sizeGiB (only bigger: 400 otherwise). An in-use volume is grown by
// QEMU through Live.Resize first (block_resize; the guest sees the new size at once), an
// available one, or one whose instance is not running, by qemu-img resize; the record takes the
// new size after. The status is extending meanwhile. Preallocation does not apply to the added
// space.
func (s *Service) Extend(ctx context.Context, projectID, idOrName string, sizeGiB int) (*Volume, error) {
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
	cause := s.resize(ctx, v, int64(sizeGiB)*GiB)
	old := v.SizeGiB
	v, err = s.change("", v.ID, func(tx *store.Tx, v *Volume) error {
		end(v)
		if cause != nil {
			v.Fault = fmt.Sprintf("extend to %d GiB failed: %v", sizeGiB, cause)
			return nil
		}
		v.SizeGiB, v.Fault = sizeGiB, ""
		return appendEvent(tx, "volume.extended", "volume", v.ID, v.ProjectID, map[string]any{"old_size_gib": old, "size_gib": sizeGiB})
	})
	if cause != nil {
		return nil, fmt.Errorf("extend volume %s: %w", idOrName, cause)
	}
	if err != nil {
		return nil, fmt.Errorf("extend volume %s: %w", idOrName, err)
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
	if v.Attachment != nil && v.Status == StatusInUse && s.live == nil {
		return faultf(ErrUnavailable, "cannot extend volume %s: it is in use and no live driver is configured", v.Name)
	}
	return nil
}

// resize grows the file: through QEMU when it holds it, else with qemu-img.
func (s *Service) resize(ctx context.Context, v *Volume, bytes int64) error {
	if v.Attachment != nil {
		err := s.live.Resize(ctx, v.Attachment.InstanceID, v.ID, bytes)
		if !errors.Is(err, ErrNotRunning) {
			return err
		}
	}
	return s.img.resize(ctx, v.Path, bytes)
}
