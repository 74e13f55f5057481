package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/store"
)

// CreateRequest asks for a new volume. At most one source may be set; with none the volume is
// empty and SizeGiB is required.
type CreateRequest struct {
	Name       string `json:"name"`
	Pool       string `json:"pool,omitempty"`        // pool ID or name; "" means the default pool
	SizeGiB    int    `json:"size_gib,omitempty"`    // 0 means the source's size, rounded up to GiB
	ImageID    string `json:"image_id,omitempty"`    // image ID or name, resolved by Options.Images
	SnapshotID string `json:"snapshot_id,omitempty"` // snapshot ID or name
	VolumeID   string `json:"volume_id,omitempty"`   // volume ID or name: a clone
	FullCopy   bool   `json:"full_copy,omitempty"`   // copy the source instead of overlaying it
	Bootable   *bool  `json:"bootable,omitempty"`    // nil: true from an image, the source's from a snapshot or volume
	// Description and Metadata are kept as given (see Volume).
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// ReserveFor, set by compute for an instance's boot volume, makes the new volume reserved for
	// that instance (as its boot volume) instead of available, in the same transaction that finishes
	// the create: a daemon killed before the attach leaves a reservation compute can tell apart.
	ReserveFor string `json:"-"`
}

// Create makes a volume of projectID. An overlay on an image or a snapshot is O(1) whatever its
// size (a qcow2 file whose backing file is the source); a full copy (FullCopy) is a standalone
// qcow2 written by qemu-img convert. A clone of a volume (here only of one no instance holds; see
// PlanClone for the others) is an overlay on a new snapshot of it
// (named clone-<first 8 characters of the new volume's ID>, which then cannot be deleted before
// the clone), or with FullCopy a copy of the source's whole chain, for which the source must be
// available (it shows maintenance during the copy).
//
// The record is written first (status creating), then the file under a temporary name renamed
// into place, then the status becomes available. On failure the files and the record go.
func (s *Service) Create(ctx context.Context, projectID string, r CreateRequest) (*Volume, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if r.VolumeID != "" && !r.FullCopy {
		return s.cloneOverlay(ctx, projectID, r)
	}
	return s.create(ctx, projectID, createArgs{CreateRequest: r, id: store.NewID()})
}

// createArgs is a request plus what the service decides for it.
type createArgs struct {
	CreateRequest
	id       string
	cloneSrc string // for a clone overlay: the source volume's ID, recorded in Source
}

func (r *CreateRequest) validate() error {
	if err := store.ValidateName(r.Name); err != nil {
		return faultf(ErrInvalid, "volume name: %v", err)
	}
	if err := validateDetails(r.Description, r.Metadata); err != nil {
		return faultf(ErrInvalid, "volume %s: %v", r.Name, err)
	}
	n := 0
	for _, src := range []string{r.ImageID, r.SnapshotID, r.VolumeID} {
		if src != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return faultf(ErrInvalid, "volume %s: give at most one of image_id, snapshot_id and volume_id", r.Name)
	case n == 0 && r.FullCopy:
		return faultf(ErrInvalid, "volume %s: full_copy needs a source", r.Name)
	case n == 0 && r.SizeGiB == 0:
		return faultf(ErrInvalid, "volume %s: an empty volume needs size_gib", r.Name)
	case r.SizeGiB < 0 || r.SizeGiB > MaxSizeGiB:
		return faultf(ErrInvalid, "volume %s: size_gib must be between 1 and %d, not %d", r.Name, MaxSizeGiB, r.SizeGiB)
	}
	return nil
}

// Clone is a clone of a volume planned by PlanClone: the snapshot its caller takes of Source, named
// SnapshotName, becomes the base of the new volume in CloneFrom.
type Clone struct {
	Source, SnapshotName string // the source volume's ID, and the name its snapshot gets
	args                 createArgs
}

// PlanClone checks a request for an overlay clone (VolumeID set, no FullCopy) against its source.
// The clone is then made in two more steps: a snapshot of the source (through compute, live, when
// it is in use: BeginSnapshot, MakeOverlay, EndSnapshot) and CloneFrom.
func (s *Service) PlanClone(_ context.Context, projectID string, r CreateRequest) (Clone, error) {
	if err := r.validate(); err != nil {
		return Clone{}, err
	}
	if r.VolumeID == "" || r.FullCopy {
		return Clone{}, faultf(ErrInvalid, "volume %s: an overlay clone needs volume_id and no full_copy", r.Name)
	}
	a := createArgs{CreateRequest: r, id: store.NewID()}
	err := s.db.View(func(tx *store.Tx) error {
		src, err := volumes.Lookup(tx, projectID, a.VolumeID)
		if err != nil {
			return err
		}
		if a.SizeGiB != 0 && a.SizeGiB < src.SizeGiB {
			return faultf(ErrInvalid, "volume %s: size_gib %d is smaller than volume %s (%d GiB)", a.Name, a.SizeGiB, src.Name, src.SizeGiB)
		}
		if _, err := volumes.Lookup(tx, projectID, a.Name); err == nil {
			return faultf(ErrConflict, "volume name %q already exists in project %s", a.Name, projectID)
		}
		a.cloneSrc = src.ID
		return nil
	})
	if err != nil {
		return Clone{}, fmt.Errorf("clone volume %s: %w", a.VolumeID, err)
	}
	return Clone{Source: a.cloneSrc, SnapshotName: "clone-" + a.id[:8], args: a}, nil
}

// CloneFrom makes the planned clone as an overlay on snapshotID, the snapshot of its source taken
// for it; when the clone cannot be made, the snapshot is deleted again.
func (s *Service) CloneFrom(ctx context.Context, projectID string, c Clone, snapshotID string) (*Volume, error) {
	a := c.args
	if a.cloneSrc == "" {
		return nil, faultf(ErrInvalid, "clone from snapshot %s: no clone was planned", snapshotID)
	}
	a.VolumeID, a.SnapshotID = "", snapshotID
	v, err := s.create(ctx, projectID, a)
	if err != nil {
		if derr := s.DeleteSnapshot(context.WithoutCancel(ctx), projectID, snapshotID); derr != nil {
			s.log.Warn("clone failed; its snapshot of the source stays", "snapshot", snapshotID, "err", derr)
		}
		return nil, err
	}
	return v, nil
}

// cloneOverlay makes an overlay clone of a volume no instance holds, all its steps here (the
// snapshot of an attached one is compute's to take: see PlanClone).
func (s *Service) cloneOverlay(ctx context.Context, projectID string, r CreateRequest) (*Volume, error) {
	c, err := s.PlanClone(ctx, projectID, r)
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshotFile(ctx, projectID, c.Source, c.SnapshotName)
	if err != nil {
		return nil, fmt.Errorf("clone volume %s: %w", r.VolumeID, err)
	}
	return s.CloneFrom(ctx, projectID, c, sn.ID)
}

// create records the intent, builds the file, and marks the volume available.
func (s *Service) create(ctx context.Context, projectID string, a createArgs) (*Volume, error) {
	img, err := s.resolveImage(ctx, projectID, a.ImageID)
	if err != nil {
		return nil, fmt.Errorf("create volume %s: %w", a.Name, err)
	}
	var p *plan
	err = s.db.Update(func(tx *store.Tx) (err error) {
		if p, err = s.plan(tx, projectID, a, img); err != nil {
			return err
		}
		if err := s.checkQuota(tx, projectID, 1, 0, p.vol.SizeGiB); err != nil {
			return err
		}
		if err := volumes.Create(tx, p.vol); err != nil {
			return err
		}
		return appendEvent(tx, "volume.created", "volume", p.vol.ID, projectID,
			map[string]any{"status": p.vol.Status, "pool_id": p.vol.PoolID, "size_gib": p.vol.SizeGiB, "source": p.vol.Source})
	})
	if err != nil {
		return nil, fmt.Errorf("create volume %s: %w", a.Name, err)
	}
	if err := s.build(ctx, p); err != nil {
		s.abandon(p, err)
		return nil, fmt.Errorf("create volume %s: %w", a.Name, err)
	}
	var v *Volume
	err = s.db.Update(func(tx *store.Tx) error {
		if err := s.releaseSource(tx, p); err != nil {
			return err
		}
		var err error
		v, err = volumes.Get(tx, p.vol.ID)
		if err != nil {
			return err
		}
		return save(tx, v, func(*store.Tx, *Volume) error {
			v.Status = StatusAvailable
			if a.ReserveFor != "" {
				v.Status, v.Attachment = StatusReserved, &Attachment{InstanceID: a.ReserveFor, Boot: true}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("create volume %s: %w", a.Name, err)
	}
	return v, nil
}

// build makes the volume's directory and its active file.
func (s *Service) build(ctx context.Context, p *plan) error {
	v := p.vol
	dir := filepath.Dir(v.Path)
	if err := s.makeDir(dir); err != nil {
		return err
	}
	tmp := tmpFor(v.Path)
	switch {
	case p.from == "":
		if err := s.img.create(ctx, tmp, createOpts{clusterSize: p.pool.ClusterSize, prealloc: p.pool.Preallocation, size: v.bytes()}); err != nil {
			return err
		}
	case v.FullCopy:
		if err := s.img.convert(ctx, p.fromFormat, p.from, tmp, p.pool.ClusterSize, p.pool.Preallocation); err != nil {
			return err
		}
		if v.bytes() > p.fromSize {
			if err := s.img.resize(ctx, tmp, v.bytes()); err != nil {
				return err
			}
		}
	default:
		if _, err := os.Stat(p.from); err != nil {
			return fmt.Errorf("source file: %w", err)
		}
		// -u: the backing file may be held by a running QEMU; its format and size are known.
		o := createOpts{backing: v.Backing, backingFormat: v.BackingFormat, unsafe: true, clusterSize: p.pool.ClusterSize, size: v.bytes()}
		if err := s.img.create(ctx, tmp, o); err != nil {
			return err
		}
	}
	if err := s.seal(tmp); err != nil {
		return err
	}
	return publish(tmp, v.Path)
}

// abandon undoes a create that failed after its record was written: files first, then the
// record (with a volume.deleted event). A record whose files cannot be removed stays, in error.
func (s *Service) abandon(p *plan, cause error) {
	v := p.vol
	rmErr := removeVolumeDir(filepath.Dir(v.Path), v.ID)
	err := s.db.Update(func(tx *store.Tx) error {
		if err := s.releaseSource(tx, p); err != nil {
			return err
		}
		if rmErr != nil {
			_, err := s.changeTx(tx, v.ID, func(v *Volume) {
				v.Status, v.Fault = StatusError, fmt.Sprintf("create failed: %v; removing its files failed: %v", cause, rmErr)
			})
			return err
		}
		return deleteVolumeRecord(tx, v, "create failed: "+cause.Error())
	})
	if err != nil || rmErr != nil {
		s.log.Error("undo failed volume create", "volume", v.ID, "err", errors.Join(err, rmErr))
	}
}

// changeTx changes a volume by ID inside tx.
func (s *Service) changeTx(tx *store.Tx, id string, fn func(*Volume)) (*Volume, error) {
	v, err := volumes.Get(tx, id)
	if err != nil {
		return nil, err
	}
	return v, save(tx, v, func(*store.Tx, *Volume) error { fn(v); return nil })
}

// deleteVolumeRecord removes a volume's record with its volume.deleted event.
func deleteVolumeRecord(tx *store.Tx, v *Volume, reason string) error {
	if err := volumes.Delete(tx, v.ID); err != nil {
		return err
	}
	data := map[string]any{"name": v.Name}
	if reason != "" {
		data["reason"] = reason
	}
	return appendEvent(tx, "volume.deleted", "volume", v.ID, v.ProjectID, data)
}

// releaseSource ends the copy task of a full-copy clone's source.
func (s *Service) releaseSource(tx *store.Tx, p *plan) error {
	if p.source == "" {
		return nil
	}
	_, err := s.changeTx(tx, p.source, end)
	return err
}
