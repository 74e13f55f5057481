package volume

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"cloudlet/store"
)

// Volume is a persistent disk of a project: one qcow2 file (Path: <pool>/<id>/active.qcow2 at
// first, active-<snapshot-id>.qcow2 after each snapshot)
// on top of a chain of backing files (its snapshots, another volume's snapshot, an image).
type Volume struct {
	store.Meta
	PoolID  string `json:"pool_id"`
	SizeGiB int    `json:"size_gib"` // virtual size
	// Description and Metadata are the owner's words about the volume (Cinder's description and
	// metadata); cloudlet reads neither.
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Status      string            `json:"status"` // one of the Status* constants
	Task        string            `json:"task,omitempty"`
	Bootable    bool              `json:"bootable"`
	Source      Source            `json:"source"`
	FullCopy    bool              `json:"full_copy,omitempty"` // made by copying the source rather than overlaying it
	Path        string            `json:"path"`                // the active file, the one QEMU opens read-write
	// Backing is the active file's backing file (absolute; "" for none) and BackingFormat its
	// format. Depth counts the files under the active one; BaseImageID is the image at the bottom
	// of the chain, if any (then that image cannot be deleted).
	Backing       string      `json:"backing,omitempty"`
	BackingFormat string      `json:"backing_format,omitempty"`
	Depth         int         `json:"depth"`
	BaseImageID   string      `json:"base_image_id,omitempty"`
	Attachment    *Attachment `json:"attachment,omitempty"`
	QoS           QoS         `json:"qos"`
	Transfer      *Transfer   `json:"transfer,omitempty"`
	Fault         string      `json:"fault,omitempty"` // why the last operation failed
}

// Volume statuses (Cinder's).
const (
	StatusCreating    = "creating"    // the record exists, the file is being made
	StatusAvailable   = "available"   // idle, not attached
	StatusReserved    = "reserved"    // an instance is attaching it
	StatusInUse       = "in-use"      // attached to an instance
	StatusExtending   = "extending"   // growing
	StatusDeleting    = "deleting"    // its files are being removed
	StatusError       = "error"       // an operation failed and could not be undone; Fault says why
	StatusMaintenance = "maintenance" // an offline file operation (snapshot, revert, merge, copy) is running
)

// Snapshot statuses use the same words: creating, available, deleting, error.

// Tasks: the file operation a volume is going through, recorded before it starts (the intent), so
// a second operation is refused and a daemon restart can finish or undo it. Some carry a snapshot
// ID after a colon.
const (
	taskSnapshot = "snapshot" // snapshot:<id>
	taskRevert   = "revert"   // revert:<id>
	taskMerge    = "merge"    // merge:<id>: deleting a snapshot
	taskExtend   = "extend"
	taskCopy     = "copy" // the source of a full-copy clone
)

// Source says what a volume was made from; at most one field is set, except that a clone records
// the volume and the snapshot taken of it.
type Source struct {
	ImageID    string `json:"image_id,omitempty"`
	SnapshotID string `json:"snapshot_id,omitempty"`
	VolumeID   string `json:"volume_id,omitempty"`
}

// Attachment is the instance a volume is reserved for or attached to.
type Attachment struct {
	InstanceID          string `json:"instance_id"`
	Device              string `json:"device,omitempty"` // e.g. "vdb"; empty while reserved
	Boot                bool   `json:"boot,omitempty"`
	DeleteOnTermination bool   `json:"delete_on_termination,omitempty"`
}

// Transfer is a pending ownership transfer. Only the hash of the auth key is kept.
type Transfer struct {
	ID        string    `json:"id"`
	KeySHA256 string    `json:"key_sha256"` // hex; web must not show it
	CreatedAt time.Time `json:"created_at"`
}

var volumes = store.NewKind[Volume](store.BucketVolumes, store.ScopeProject).Holding(volumeHolds)

// GiB is the unit of volume sizes.
const GiB = 1 << 30

// Bounds on volume sizes.
const MaxSizeGiB = 64 << 10 // 64 TiB

func (v *Volume) bytes() int64 { return int64(v.SizeGiB) * GiB }

// idleStatus is the status a volume returns to when its task ends.
func (v *Volume) idleStatus() string {
	if v.Attachment != nil {
		return StatusInUse
	}
	return StatusAvailable
}

// Get returns one of projectID's volumes by ID or name ("" project: any volume, by ID).
func (s *Service) Get(_ context.Context, projectID, idOrName string) (*Volume, error) {
	var v *Volume
	err := s.db.View(func(tx *store.Tx) (err error) { v, err = volumes.Lookup(tx, projectID, idOrName); return err })
	return v, err
}

// List returns projectID's volumes ("" for all), sorted by name.
func (s *Service) List(_ context.Context, projectID string) ([]*Volume, error) {
	var out []*Volume
	err := s.db.View(func(tx *store.Tx) (err error) { out, err = volumes.List(tx, projectID); return err })
	if err != nil {
		return nil, fmt.Errorf("list volumes of project %s: %w", projectID, err)
	}
	return out, nil
}

// SetBootable sets or clears the bootable flag.
func (s *Service) SetBootable(_ context.Context, projectID, idOrName string, bootable bool) (*Volume, error) {
	return s.change(projectID, idOrName, func(tx *store.Tx, v *Volume) error {
		v.Bootable = bootable
		return appendEvent(tx, "volume.updated", "volume", v.ID, v.ProjectID, map[string]any{"bootable": bootable})
	})
}

// change is the one place a volume record changes after create: it looks the volume up in a write
// transaction (projectID "" finds any volume by ID), applies fn, writes the record back and, when
// the status or the fault changed, appends a volume.state event in the same transaction.
func (s *Service) change(projectID, idOrName string, fn func(*store.Tx, *Volume) error) (*Volume, error) {
	var out *Volume
	err := s.db.Update(func(tx *store.Tx) error {
		v, err := volumes.Lookup(tx, projectID, idOrName)
		if err != nil {
			return err
		}
		out = v
		return save(tx, v, fn)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// save applies fn to v inside tx and writes it with its volume.state event.
func save(tx *store.Tx, v *Volume, fn func(*store.Tx, *Volume) error) error {
	status, fault := v.Status, v.Fault
	if err := fn(tx, v); err != nil {
		return err
	}
	if err := volumes.Update(tx, v); err != nil {
		return err
	}
	if v.Status != status || v.Fault != fault {
		return appendEvent(tx, "volume.state", "volume", v.ID, v.ProjectID, stateEvent{v.Status, v.Fault})
	}
	return nil
}

// stateEvent is the data of volume.state and snapshot.state events.
type stateEvent struct {
	Status string `json:"status"`
	Fault  string `json:"fault,omitempty"`
}

// appendEvent records a change on the event log in the caller's transaction.
func appendEvent(tx *store.Tx, typ, kind, id, projectID string, data any) error {
	e := &store.Event{Type: typ, Kind: kind, ID: id, ProjectID: projectID}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return err
		}
		e.Data = raw
	}
	return store.AppendEvent(tx, e)
}
