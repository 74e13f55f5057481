package volume

import (
	"context"
	"errors"
	"fmt"

	"cloudlet/store"
)

// Bounds on what a volume's owner may write about it (Cinder's).
const (
	maxDescriptionLen = 255
	maxMetadataItems  = 128
	maxMetadataLen    = 255 // of a key and of a value
)

// UpdateRequest changes what a volume's owner may rename or describe; a nil field is left as it is.
// Metadata, when not nil, replaces the whole set.
type UpdateRequest struct {
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

// Update renames a volume or changes its description or metadata, in any status: none of them is
// read by the files or by an instance.
func (s *Service) Update(_ context.Context, projectID, idOrName string, r UpdateRequest) (*Volume, error) {
	if r.Name != nil {
		if err := store.ValidateName(*r.Name); err != nil {
			return nil, faultf(ErrInvalid, "update volume %s: %v", idOrName, err)
		}
	}
	desc := ""
	if r.Description != nil {
		desc = *r.Description
	}
	if err := validateDetails(desc, r.Metadata); err != nil {
		return nil, faultf(ErrInvalid, "update volume %s: %v", idOrName, err)
	}
	v, err := s.change(projectID, idOrName, func(tx *store.Tx, v *Volume) error {
		changed := map[string]any{}
		if r.Name != nil {
			v.Name, changed["name"] = *r.Name, *r.Name
		}
		if r.Description != nil {
			v.Description, changed["description"] = *r.Description, true
		}
		if r.Metadata != nil {
			v.Metadata, changed["metadata"] = r.Metadata, true
		}
		return appendEvent(tx, "volume.updated", "volume", v.ID, v.ProjectID, changed)
	})
	if err != nil {
		return nil, fmt.Errorf("update volume %s: %w", idOrName, err)
	}
	return v, nil
}

// validateDetails checks a description and a metadata set against Cinder's bounds.
func validateDetails(description string, metadata map[string]string) error {
	if len(description) > maxDescriptionLen {
		return fmt.Errorf("description is %d bytes, at most %d", len(description), maxDescriptionLen)
	}
	if len(metadata) > maxMetadataItems {
		return fmt.Errorf("metadata has %d items, at most %d", len(metadata), maxMetadataItems)
	}
	for k, v := range metadata {
		if k == "" || len(k) > maxMetadataLen || len(v) > maxMetadataLen {
			return errors.New("a metadata key must be 1 to 255 bytes and a value at most 255")
		}
	}
	return nil
}

// SnapshotUpdate renames or describes a snapshot; a nil field is left as it is.
type SnapshotUpdate struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// UpdateSnapshot renames or describes one of projectID's snapshots, in any status: its file does
// not depend on either.
func (s *Service) UpdateSnapshot(_ context.Context, projectID, idOrName string, r SnapshotUpdate) (*Snapshot, error) {
	if r.Name != nil {
		if err := store.ValidateName(*r.Name); err != nil {
			return nil, faultf(ErrInvalid, "update snapshot %s: %v", idOrName, err)
		}
	}
	if r.Description != nil {
		if err := validateDetails(*r.Description, nil); err != nil {
			return nil, faultf(ErrInvalid, "update snapshot %s: %v", idOrName, err)
		}
	}
	var out *Snapshot
	err := s.db.Update(func(tx *store.Tx) error {
		sn, err := snapshots.Lookup(tx, projectID, idOrName)
		if err != nil {
			return err
		}
		changed := map[string]any{}
		if r.Name != nil {
			sn.Name, changed["name"] = *r.Name, *r.Name
		}
		if r.Description != nil {
			sn.Description, changed["description"] = *r.Description, true
		}
		if err := snapshots.Update(tx, sn); err != nil {
			return err
		}
		out = sn
		return appendEvent(tx, "snapshot.updated", "snapshot", sn.ID, sn.ProjectID, changed)
	})
	if err != nil {
		return nil, fmt.Errorf("update snapshot %s: %w", idOrName, err)
	}
	return out, nil
}
