package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/store"
)

// Revert makes an available volume's content its snapshot's again: the active file is dropped and
// a new empty overlay on the snapshot's file takes its place (written as <active file>.tmp and
// renamed over the active file, which no QEMU holds: the volume is available). The volume keeps its size (sizes only grow); snapshots taken after
// this one stay, on their own branch of the chain.
func (s *Service) Revert(ctx context.Context, projectID, volume, snapshot string) (*Volume, error) {
	var v *Volume
	var sn *Snapshot
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if v, err = volumes.Lookup(tx, projectID, volume); err != nil {
			return err
		}
		if sn, err = snapshots.Lookup(tx, projectID, snapshot); err != nil {
			return err
		}
		switch {
		case sn.VolumeID != v.ID:
			return faultf(ErrInvalid, "snapshot %s is not a snapshot of volume %s", sn.Name, v.Name)
		case sn.Status != StatusAvailable:
			return faultf(ErrConflict, "cannot revert to snapshot %s: it is %s", sn.Name, sn.Status)
		}
		return save(tx, v, func(*store.Tx, *Volume) error { return begin(v, taskRevert+":"+sn.ID, "revert", StatusAvailable) })
	})
	if err != nil {
		return nil, fmt.Errorf("revert volume %s to snapshot %s: %w", volume, snapshot, err)
	}
	id, tmp := v.ID, tmpFor(v.Path)
	o := createOpts{backing: backingRef(filepath.Dir(v.Path), sn.Path), backingFormat: "qcow2", unsafe: true, clusterSize: s.clusterSize(v), size: v.bytes()}
	cause := s.img.create(ctx, tmp, o)
	if cause == nil {
		cause = s.seal(tmp)
	}
	if cause == nil {
		cause = publish(tmp, v.Path)
	}
	if cause != nil {
		os.Remove(tmp)
	}
	v, err = s.change("", id, func(tx *store.Tx, v *Volume) error {
		end(v)
		if cause != nil {
			return nil
		}
		stackOn(v, sn)
		return appendEvent(tx, "volume.reverted", "volume", v.ID, v.ProjectID, map[string]any{"snapshot_id": sn.ID})
	})
	if cause != nil {
		if err := s.resync(context.WithoutCancel(ctx), id); err != nil { // a rename that happened before a failed sync
			s.log.Error("resync volume after failed revert", "volume", id, "err", err)
		}
		return nil, fmt.Errorf("revert volume %s to snapshot %s: %w", volume, snapshot, cause)
	}
	if err != nil {
		return nil, fmt.Errorf("revert volume %s to snapshot %s: %w", volume, snapshot, err)
	}
	return v, nil
}
