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
	// Description is the owner's words about the snapshot (Cinder's); cloudlet does not read it.
	Description string `json:"description,omitempty"`
	// Backing, BackingFormat, Depth and BaseImageID describe the chain under the file, as for a
	// volume.
	Backing       string `json:"backing,omitempty"`
	BackingFormat string `json:"backing_format,omitempty"`
	Depth         int    `json:"depth"`
	BaseImageID   string `json:"base_image_id,omitempty"`
	Fault         string `json:"fault,omitempty"`
}

var snapshots = store.NewKind[Snapshot](store.BucketSnapshots, store.ScopeProject).Holding(snapshotHolds)

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

// A snapshot is external, taken in three steps driven by its caller (compute, which knows whether a
// QEMU holds the volume's file): BeginSnapshot records it, MakeOverlay writes the new active file,
// and EndSnapshot settles it. The volume's active file stays where it is and becomes the
// snapshot's file (Snapshot.Path); a new empty overlay on top of it, active-<snapshot-id>.qcow2,
// becomes the active file (Volume.Path).
//
// The overlay is written as active-<id>.qcow2.tmp, its header naming the current active file
// (relative), and renamed to active-<id>.qcow2 before anyone opens it; while an instance runs with
// the volume, compute then makes QEMU switch to it (blockdev-snapshot). No file QEMU may hold is
// ever renamed, so QEMU's idea of its files' names stays true. Offline and live snapshots end in
// the same layout.
//
// A chain may hold MaxChain files under the active one. A snapshot that would exceed it flattens
// the volume first (SnapshotPlan.Flatten), so the new snapshot starts a fresh chain (older snapshots
// keep theirs): by block-stream in the running QEMU, or by MakeOverlay copying the chain into a
// standalone file when no QEMU holds it.

// SnapshotPlan is a snapshot begun: its record (creating), the volume as it was (its Attachment
// names the instance that may hold the file) and whether the volume is flattened first.
type SnapshotPlan struct {
	Snapshot *Snapshot
	Volume   *Volume
	Flatten  bool
}

// BeginSnapshot records a snapshot of an available or in-use volume (creating) and the volume's
// snapshot task, in one transaction.
func (s *Service) BeginSnapshot(_ context.Context, projectID, volume, name string) (SnapshotPlan, error) {
	if err := store.ValidateName(name); err != nil {
		return SnapshotPlan{}, faultf(ErrInvalid, "snapshot name: %v", err)
	}
	var p SnapshotPlan
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if p.Volume, err = volumes.Lookup(tx, projectID, volume); err != nil {
			return err
		}
		if err := s.checkQuota(tx, p.Volume.ProjectID, 0, 1, p.Volume.SizeGiB); err != nil {
			return err
		}
		p.Snapshot, p.Flatten, err = s.snapshotIntent(tx, p.Volume, name)
		return err
	})
	if err != nil {
		return SnapshotPlan{}, fmt.Errorf("snapshot volume %s: %w", volume, err)
	}
	return p, nil
}

// MakeOverlay writes the snapshot's new active file and returns its path; with flatten it first
// replaces the volume's active file by a standalone copy of its chain (only for a volume no running
// QEMU holds: a running one is streamed by QEMU instead). On failure nothing new is left behind (a
// flatten that completed stays: the content is the same).
func (s *Service) MakeOverlay(ctx context.Context, snapshotID string, flatten bool) (string, error) {
	v, sn, err := s.snapshotInTask(snapshotID)
	if err != nil {
		return "", err
	}
	if flatten {
		if err := s.flattenFile(ctx, v); err != nil {
			return "", err
		}
	}
	dir := filepath.Dir(v.Path)
	next := nextActivePath(dir, sn.ID)
	tmp := tmpFor(next)
	o := createOpts{backing: backingRef(dir, v.Path), backingFormat: "qcow2", unsafe: true, clusterSize: s.clusterSize(v), size: v.bytes()}
	if err := s.img.create(ctx, tmp, o); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := s.seal(tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := publish(tmp, next); err != nil {
		os.Remove(tmp)
		return "", err
	}
	crashpoint.Hit(crashpoint.SnapshotActive)
	return next, nil
}

// EndSnapshot settles the snapshot (see settleSnapshot). A cause (the overlay could not be made, or
// QEMU refused to switch to it) rolls it back: the new active file is removed first.
func (s *Service) EndSnapshot(ctx context.Context, snapshotID string, cause error) (*Snapshot, error) {
	v, sn, err := s.snapshotInTask(snapshotID)
	if err != nil {
		return nil, err
	}
	if cause != nil {
		next := nextActivePath(filepath.Dir(v.Path), sn.ID)
		if rerr := os.Remove(next); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			cause = errors.Join(cause, fmt.Errorf("remove the new active file: %w", rerr))
		} else {
			cause = errors.Join(cause, syncDir(filepath.Dir(v.Path)))
		}
	}
	sn, err = s.settleSnapshot(ctx, v.ID, sn.ID, cause, cause)
	if cause != nil {
		return nil, fmt.Errorf("snapshot volume %s: %w", v.Name, cause)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot volume %s: %w", v.Name, err)
	}
	return sn, nil
}

// snapshotFile takes a snapshot of a volume no instance holds, all three steps here; a volume
// attached to an instance is refused (its snapshot is compute's to drive).
func (s *Service) snapshotFile(ctx context.Context, projectID, volume, name string) (*Snapshot, error) {
	p, err := s.BeginSnapshot(ctx, projectID, volume, name)
	if err != nil {
		return nil, err
	}
	var cause error
	if at := p.Volume.Attachment; at != nil {
		cause = faultf(ErrConflict, "volume %s is attached to instance %s: its snapshot is taken through the instance", p.Volume.Name, at.InstanceID)
	} else {
		_, cause = s.MakeOverlay(ctx, p.Snapshot.ID, p.Flatten)
	}
	return s.EndSnapshot(ctx, p.Snapshot.ID, cause)
}

// snapshotInTask reads a snapshot being created and its volume, which must be in its task.
func (s *Service) snapshotInTask(snapshotID string) (*Volume, *Snapshot, error) {
	var sn *Snapshot
	err := s.db.View(func(tx *store.Tx) (err error) {
		sn, err = snapshots.Get(tx, snapshotID)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot %s: %w", snapshotID, err)
	}
	v, err := s.inTask(sn.VolumeID, taskSnapshot+":"+sn.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot %s: %w", snapshotID, err)
	}
	return v, sn, nil
}

// snapshotIntent records the snapshot (creating) and the volume's task in one transaction.
func (s *Service) snapshotIntent(tx *store.Tx, v *Volume, name string) (*Snapshot, bool, error) {
	id := store.NewID()
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

// flattenFile replaces v's active file by a standalone copy of its whole chain (no QEMU holds it).
func (s *Service) flattenFile(ctx context.Context, v *Volume) error {
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
