package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/appliance/crashpoint"
	"cloudlet/store"
)

// Snapshot is a read-only point in a volume's history: the file that was the volume's active file
// when it was taken, left where it was (Path is the volume's Path of that moment).
type Snapshot struct {
	store.Meta
	VolumeID string `json:"volume_id"`
	Path     string `json:"path"`
	SizeGiB  int    `json:"size_gib"` // the volume's size when it was taken
	Status   string `json:"status"`   // creating, available, deleting or error
	// Backing, BackingFormat, Depth and BaseImageID describe the chain under the file, as for a
	// volume.
	Backing       string `json:"backing,omitempty"`
	BackingFormat string `json:"backing_format,omitempty"`
	Depth         int    `json:"depth"`
	BaseImageID   string `json:"base_image_id,omitempty"`
	Fault         string `json:"fault,omitempty"`
}

var snapshots = store.NewKind[Snapshot](store.BucketSnapshots, store.ScopeProject)

// Snapshot returns one of projectID's snapshots by ID or name.
func (s *Service) Snapshot(_ context.Context, projectID, idOrName string) (*Snapshot, error) {
	var sn *Snapshot
	err := s.db.View(func(tx *store.Tx) (err error) { sn, err = snapshots.Lookup(tx, projectID, idOrName); return err })
	return sn, err
}

// Snapshots lists projectID's snapshots, sorted by name; with a volume, only that volume's.
func (s *Service) Snapshots(_ context.Context, projectID, volume string) ([]*Snapshot, error) {
	var out []*Snapshot
	err := s.db.View(func(tx *store.Tx) error {
		all, err := snapshots.List(tx, projectID)
		if err != nil || volume == "" {
			out = all
			return err
		}
		v, err := volumes.Lookup(tx, projectID, volume)
		if err != nil {
			return err
		}
		for _, sn := range all {
			if sn.VolumeID == v.ID {
				out = append(out, sn)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots of project %s: %w", projectID, err)
	}
	return out, nil
}

// CreateSnapshot takes an external snapshot of an available or in-use volume: its active file stays
// where it is and becomes the snapshot's file (Snapshot.Path), and a new empty overlay on top of it,
// active-<snapshot-id>.qcow2, becomes the active file (Volume.Path).
//
// The overlay is written as active-<id>.qcow2.tmp, its header naming the current active file
// (relative), and renamed to active-<id>.qcow2 before anyone opens it; for an in-use volume
// Live.Snapshot then makes QEMU switch to it (blockdev-snapshot). No file QEMU may hold is ever
// renamed, so QEMU's idea of its files' names stays true. Offline and live snapshots end in the
// same layout.
//
// A chain may hold MaxChain files under the active one. A snapshot that would exceed it flattens
// the volume first, so the new snapshot starts a fresh chain (older snapshots keep theirs): an
// in-use volume through Live.Stream (block-stream in the running QEMU), an available one, or one
// whose instance is stopped, by copying its chain into a standalone file.
func (s *Service) CreateSnapshot(ctx context.Context, projectID, volume, name string) (*Snapshot, error) {
	if err := store.ValidateName(name); err != nil {
		return nil, faultf(ErrInvalid, "snapshot name: %v", err)
	}
	var sn *Snapshot
	var v *Volume
	var flatten bool
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if v, err = volumes.Lookup(tx, projectID, volume); err != nil {
			return err
		}
		if err := s.checkQuota(tx, v.ProjectID, 0, 1, v.SizeGiB); err != nil {
			return err
		}
		sn, flatten, err = s.snapshotIntent(tx, v, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot volume %s: %w", volume, err)
	}
	cause := s.takeSnapshot(ctx, v, sn, flatten)
	sn, err = s.settleSnapshot(ctx, v.ID, sn.ID, cause, cause)
	if cause != nil {
		return nil, fmt.Errorf("snapshot volume %s: %w", v.Name, cause)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot volume %s: %w", v.Name, err)
	}
	return sn, nil
}

// snapshotIntent records the snapshot (creating) and the volume's task in one transaction.
func (s *Service) snapshotIntent(tx *store.Tx, v *Volume, name string) (*Snapshot, bool, error) {
	id := store.NewID()
	live := v.Attachment != nil
	if live && s.live == nil {
		return nil, false, faultf(ErrUnavailable, "cannot snapshot volume %s: it is in use and no live driver is configured", v.Name)
	}
	flatten := v.Depth+1 > s.maxChain
	err := save(tx, v, func(*store.Tx, *Volume) error {
		return begin(v, taskSnapshot+":"+id, "snapshot", StatusAvailable, StatusInUse)
	})
	if err != nil {
		return nil, false, err
	}
	sn := &Snapshot{
		Meta:     store.Meta{ID: id, Name: name, ProjectID: v.ProjectID},
		VolumeID: v.ID, Path: v.Path, SizeGiB: v.SizeGiB, Status: StatusCreating,
		Backing: v.Backing, BackingFormat: v.BackingFormat, Depth: v.Depth, BaseImageID: v.BaseImageID,
	}
	if flatten {
		sn.Backing, sn.BackingFormat, sn.Depth, sn.BaseImageID = "", "", 0, ""
	}
	if err := snapshots.Create(tx, sn); err != nil {
		return nil, false, err
	}
	err = appendEvent(tx, "snapshot.created", "snapshot", sn.ID, sn.ProjectID, map[string]any{"volume_id": v.ID, "status": sn.Status})
	return sn, flatten, err
}

// takeSnapshot does the file steps. On failure it removes the new active file, so the snapshot
// rolls back (a flatten that completed stays: the content is the same).
func (s *Service) takeSnapshot(ctx context.Context, v *Volume, sn *Snapshot, flatten bool) error {
	dir := filepath.Dir(v.Path)
	next := nextActivePath(dir, sn.ID)
	tmp := tmpFor(next)
	if flatten {
		if err := s.flatten(ctx, v); err != nil {
			return err
		}
	}
	o := createOpts{backing: backingRef(dir, v.Path), backingFormat: "qcow2", unsafe: true, clusterSize: s.clusterSize(v), size: v.bytes()}
	if err := s.img.create(ctx, tmp, o); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := s.seal(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := publish(tmp, next); err != nil {
		os.Remove(tmp)
		return err
	}
	crashpoint.Hit(crashpoint.SnapshotActive)
	if v.Attachment != nil {
		err := s.live.Snapshot(ctx, v.Attachment.InstanceID, v.ID, next)
		if err != nil && !errors.Is(err, ErrNotRunning) {
			if rerr := os.Remove(next); rerr != nil {
				return errors.Join(fmt.Errorf("live snapshot: %w", err), fmt.Errorf("remove the new active file: %w", rerr))
			}
			return errors.Join(fmt.Errorf("live snapshot: %w", err), syncDir(dir))
		}
	}
	return nil
}

// flatten makes v's active file stand alone. An in-use volume whose instance runs is streamed by
// QEMU (Live.Stream); otherwise the active file is replaced by a standalone copy of its whole chain
// (no QEMU holds it).
func (s *Service) flatten(ctx context.Context, v *Volume) error {
	if v.Attachment != nil {
		err := s.live.Stream(ctx, v.Attachment.InstanceID, v.ID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNotRunning) {
			return fmt.Errorf("live flatten: %w", err)
		}
	}
	tmp := tmpFor(v.Path)
	if err := s.img.convert(ctx, "qcow2", v.Path, tmp, s.clusterSize(v), PreallocOff); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("flatten: %w", err)
	}
	if err := s.seal(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return publish(tmp, v.Path)
}

// clusterSize is the cluster size of v's pool (the default if the pool went away).
func (s *Service) clusterSize(v *Volume) int64 {
	var cs int64 = DefaultClusterSize
	s.db.View(func(tx *store.Tx) error {
		if p, err := pools.Get(tx, v.PoolID); err == nil {
			cs = p.ClusterSize
		}
		return nil
	})
	return cs
}

// stackOn makes sn's file the backing file of v's active file.
func stackOn(v *Volume, sn *Snapshot) {
	v.Backing, v.BackingFormat, v.Depth, v.BaseImageID = sn.Path, "qcow2", sn.Depth+1, sn.BaseImageID
}

// settleSnapshot ends a snapshot task, after it ran (cause: its error) or after a crash. The files
// decide: once the new active file exists (it is renamed into place only when complete) the
// snapshot rolls forward: the volume's record names the new file and the snapshot is available, or
// in error with fault when it may not be point-in-time. Otherwise it rolls back: the overlay's
// temporary file and the record go. Either way the volume's task ends; after a roll back the
// volume's record is read back from its file, since a flatten may have completed.
//
// A snapshot record of the old layout (its Path is not the volume's: snap-<id>.qcow2, renamed from
// active.qcow2) settles the old way: forward once its file exists, the overlay renamed to the
// volume's Path if it is not yet.
func (s *Service) settleSnapshot(ctx context.Context, volumeID, snapshotID string, cause, fault error) (*Snapshot, error) {
	var v *Volume
	var sn *Snapshot
	err := s.db.View(func(tx *store.Tx) (err error) {
		if v, err = volumes.Get(tx, volumeID); err != nil {
			return err
		}
		sn, err = snapshots.Get(tx, snapshotID)
		return err
	})
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(v.Path)
	next, tmp := nextActivePath(dir, sn.ID), tmpFor(nextActivePath(dir, sn.ID))
	var forward bool
	var pubErr error
	if legacy := sn.Path != v.Path; legacy {
		next, tmp = v.Path, filepath.Join(dir, legacyTmp)
		if forward = exists(sn.Path); forward && exists(tmp) {
			pubErr = publish(tmp, v.Path)
		}
	} else {
		forward = exists(next)
	}
	if !forward {
		os.Remove(tmp)
	}
	err = s.db.Update(func(tx *store.Tx) (err error) {
		if sn, err = snapshots.Get(tx, snapshotID); err != nil {
			return err
		}
		if !forward {
			if err := deleteSnapshotRecord(tx, sn, fmt.Sprintf("create failed: %v", cause)); err != nil {
				return err
			}
			_, err = s.changeTx(tx, volumeID, end)
			return err
		}
		status, why := StatusAvailable, ""
		if fault != nil {
			status, why = StatusError, fault.Error()
		}
		if err := setSnapshotStatus(tx, sn, status, why); err != nil {
			return err
		}
		_, err = s.changeTx(tx, volumeID, func(v *Volume) {
			v.Path = next
			stackOn(v, sn)
			end(v)
			if pubErr != nil {
				v.Status, v.Fault = StatusError, "snapshot "+sn.ID+": "+pubErr.Error()
			}
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("settle snapshot %s: %w", snapshotID, err)
	}
	if !forward {
		return sn, s.resync(context.WithoutCancel(ctx), volumeID)
	}
	return sn, pubErr
}

// setSnapshotStatus writes a snapshot's status with its snapshot.state event.
func setSnapshotStatus(tx *store.Tx, sn *Snapshot, status, fault string) error {
	sn.Status, sn.Fault = status, fault
	if err := snapshots.Update(tx, sn); err != nil {
		return err
	}
	return appendEvent(tx, "snapshot.state", "snapshot", sn.ID, sn.ProjectID, stateEvent{status, fault})
}

// deleteSnapshotRecord removes a snapshot's record with its snapshot.deleted event.
func deleteSnapshotRecord(tx *store.Tx, sn *Snapshot, reason string) error {
	if err := snapshots.Delete(tx, sn.ID); err != nil {
		return err
	}
	data := map[string]any{"name": sn.Name, "volume_id": sn.VolumeID}
	if reason != "" {
		data["reason"] = reason
	}
	return appendEvent(tx, "snapshot.deleted", "snapshot", sn.ID, sn.ProjectID, data)
}
