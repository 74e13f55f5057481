package volume

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"

	"cloudlet/store"
)

// Attachment bookkeeping. Compute calls these around its own QEMU work (hotplug, or the disk list of
// a cold start); they never touch QEMU. Each is one catalog transaction that checks the state it
// changes, so two instances racing for one volume cannot both get it:
//
//	available --Reserve--> reserved --Attached--> in-use --Detached--> available
//	                       reserved --Unreserve/Detached--> available

// devicePattern is what Attached accepts as a device name: a guest device ("vdb") or compute's
// name for the slot it used ("hp0"). The boot volume may have none.
var devicePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// Reserve claims an available volume of projectID for instanceID (available → reserved). Any other
// status, a running task or a pending transfer is a 409 naming the status or the instance.
func (s *Service) Reserve(_ context.Context, projectID, volume, instanceID string) (*Volume, error) {
	if instanceID == "" {
		return nil, faultf(ErrInvalid, "reserve volume %s: no instance given", volume)
	}
	v, err := s.change(projectID, volume, func(tx *store.Tx, v *Volume) error {
		switch {
		case v.Status != StatusAvailable || v.Task != "":
			return stateConflict(v, "attach")
		case v.Transfer != nil:
			return faultf(ErrConflict, "cannot attach volume %s: a transfer is pending; cancel it first", v.Name)
		}
		v.Status, v.Attachment = StatusReserved, &Attachment{InstanceID: instanceID}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reserve volume %s for instance %s: %w", volume, instanceID, err)
	}
	return v, nil
}

// Attached records that compute attached a reserved volume (reserved → in-use) as device ("" only
// for a boot volume).
func (s *Service) Attached(_ context.Context, volumeID, device string, boot, deleteOnTermination bool) (*Volume, error) {
	if !devicePattern.MatchString(device) && (device != "" || !boot) {
		return nil, faultf(ErrInvalid, "attach volume %s: device %s must match %s", volumeID, quoteShort(device), devicePattern)
	}
	v, err := s.change("", volumeID, func(tx *store.Tx, v *Volume) error {
		if v.Status != StatusReserved || v.Attachment == nil {
			return stateConflict(v, "mark attached")
		}
		v.Status = StatusInUse
		v.Attachment.Device, v.Attachment.Boot, v.Attachment.DeleteOnTermination = device, boot, deleteOnTermination
		return appendEvent(tx, "volume.attached", "volume", v.ID, v.ProjectID, v.Attachment)
	})
	if err != nil {
		return nil, fmt.Errorf("mark volume %s attached: %w", volumeID, err)
	}
	return v, nil
}

// Unreserve gives back a reserved volume whose attach did not happen (reserved → available).
func (s *Service) Unreserve(_ context.Context, volumeID string) (*Volume, error) {
	v, err := s.change("", volumeID, func(tx *store.Tx, v *Volume) error {
		if v.Status != StatusReserved {
			return stateConflict(v, "unreserve")
		}
		v.Status, v.Attachment = StatusAvailable, nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unreserve volume %s: %w", volumeID, err)
	}
	return v, nil
}

// Detached records that compute detached a volume (in-use or reserved → available). During a task
// on an in-use volume only the attachment goes; the task's end makes the volume available.
func (s *Service) Detached(_ context.Context, volumeID string) (*Volume, error) {
	v, err := s.change("", volumeID, func(tx *store.Tx, v *Volume) error {
		if v.Attachment == nil {
			return stateConflict(v, "mark detached")
		}
		instance := v.Attachment.InstanceID
		v.Attachment = nil
		if v.Status == StatusInUse || v.Status == StatusReserved {
			v.Status = StatusAvailable
		}
		return appendEvent(tx, "volume.detached", "volume", v.ID, v.ProjectID, map[string]any{"instance_id": instance})
	})
	if err != nil {
		return nil, fmt.Errorf("mark volume %s detached: %w", volumeID, err)
	}
	return v, nil
}

// Reservations returns the reserved volumes (those whose attach has not happened yet), of one
// instance or, with instanceID "", of every instance. Compute releases the ones no attach is waiting
// for: at daemon start (no attach survives a restart) and when their instance is deleted.
func (s *Service) Reservations(_ context.Context, instanceID string) ([]*Volume, error) {
	var out []*Volume
	err := s.db.View(func(tx *store.Tx) error {
		return volumes.ForEach(tx, func(v *Volume) error {
			if v.Status == StatusReserved && v.Attachment != nil && (instanceID == "" || v.Attachment.InstanceID == instanceID) {
				out = append(out, v)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("volume reservations: %w", err)
	}
	return out, nil
}

// AttachedTo returns the volumes reserved for or attached to an instance: the boot volume first,
// then by device name (vdb before vdc before vdaa, hp2 before hp10), reserved ones last.
func (s *Service) AttachedTo(_ context.Context, instanceID string) ([]*Volume, error) {
	var out []*Volume
	err := s.db.View(func(tx *store.Tx) error {
		return volumes.ForEach(tx, func(v *Volume) error {
			if v.Attachment != nil && v.Attachment.InstanceID == instanceID {
				out = append(out, v)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("volumes of instance %s: %w", instanceID, err)
	}
	slices.SortFunc(out, func(a, b *Volume) int {
		x, y := a.Attachment, b.Attachment
		return cmp.Or(
			-boolCmp(x.Boot, y.Boot),
			boolCmp(a.Status == StatusReserved, b.Status == StatusReserved),
			cmp.Compare(len(x.Device), len(y.Device)),
			cmp.Compare(x.Device, y.Device),
			cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// Disk is what compute needs to give a volume to QEMU.
type Disk struct {
	VolumeID string
	Path     string // the active file; its backing chain is named in its qcow2 header
	Format   string // always "qcow2": pass it explicitly (driver=qcow2), never probe
	ReadOnly bool
	QoS      QoS
}

// DiskFor returns the QEMU disk of a volume.
func (s *Service) DiskFor(v *Volume) Disk {
	return Disk{VolumeID: v.ID, Path: v.Path, Format: "qcow2", QoS: v.QoS}
}
