package volume

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"

	"cloudlet/store"
)

// CreateTransfer offers an available volume to another project (Cinder's volume transfer). It
// returns the transfer's ID and its auth key, shown once: only the key's SHA-256 is kept. A
// volume with a pending transfer cannot be attached. Refused (409) when another volume is based
// on one of its snapshots, or when it is itself based on another volume's snapshot (make a full
// copy to transfer it): ownership moves whole.
func (s *Service) CreateTransfer(_ context.Context, projectID, volume string) (transferID, authKey string, err error) {
	var key [16]byte
	rand.Read(key[:])
	authKey, transferID = hex.EncodeToString(key[:]), store.NewID()
	_, err = s.change(projectID, volume, func(tx *store.Tx, v *Volume) error {
		switch {
		case v.Status != StatusAvailable || v.Task != "":
			return stateConflict(v, "transfer")
		case v.Transfer != nil:
			return faultf(ErrConflict, "volume %s already has a pending transfer %s", v.Name, v.Transfer.ID)
		}
		if err := selfContained(tx, v); err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(authKey))
		v.Transfer = &Transfer{ID: transferID, KeySHA256: hex.EncodeToString(sum[:]), CreatedAt: s.now().UTC()}
		return appendEvent(tx, "volume.transfer_created", "volume", v.ID, v.ProjectID, map[string]any{"transfer_id": transferID})
	})
	if err != nil {
		return "", "", fmt.Errorf("transfer volume %s: %w", volume, err)
	}
	return transferID, authKey, nil
}

// selfContained refuses a volume whose chain crosses into another volume's files either way.
func selfContained(tx *store.Tx, v *Volume) error {
	g, err := loadGraph(tx)
	if err != nil {
		return err
	}
	files := []*Snapshot{}
	for _, sn := range g.snaps {
		if sn.VolumeID == v.ID {
			if who := g.foreignDependent(sn); who != "" {
				return faultf(ErrConflict, "cannot transfer volume %s: %s is based on its snapshot %s", v.Name, who, sn.Name)
			}
			files = append(files, sn)
		}
	}
	backings := []string{v.Backing}
	for _, sn := range files {
		backings = append(backings, sn.Backing)
	}
	for _, b := range backings {
		if sn, ok := g.byPath[b]; ok && sn.VolumeID != v.ID {
			return faultf(ErrConflict, "cannot transfer volume %s: it is based on snapshot %s of another volume; transfer a full copy", v.Name, sn.Name)
		}
	}
	return nil
}

// CancelTransfer withdraws a volume's pending transfer.
func (s *Service) CancelTransfer(_ context.Context, projectID, volume string) error {
	_, err := s.change(projectID, volume, func(tx *store.Tx, v *Volume) error {
		if v.Transfer == nil {
			return faultf(ErrNotFound, "volume %s has no pending transfer", v.Name)
		}
		id := v.Transfer.ID
		v.Transfer = nil
		return appendEvent(tx, "volume.transfer_cancelled", "volume", v.ID, v.ProjectID, map[string]any{"transfer_id": id})
	})
	if err != nil {
		return fmt.Errorf("cancel transfer of volume %s: %w", volume, err)
	}
	return nil
}

// AcceptTransfer moves the volume of a pending transfer, and its snapshots, to newProjectID. The
// key is compared in constant time with the stored hash. The volume must still be available, and
// its name and its snapshots' names must be free in the new project (409).
func (s *Service) AcceptTransfer(_ context.Context, newProjectID, transferID, authKey string) (*Volume, error) {
	var out *Volume
	err := s.db.Update(func(tx *store.Tx) error {
		v, err := findTransfer(tx, transferID)
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(authKey))
		want, _ := hex.DecodeString(v.Transfer.KeySHA256)
		if subtle.ConstantTimeCompare(sum[:], want) != 1 {
			return faultf(ErrForbidden, "wrong auth key for transfer %s", transferID)
		}
		if v.Status != StatusAvailable || v.Task != "" {
			return stateConflict(v, "transfer")
		}
		if v.ProjectID == newProjectID {
			return faultf(ErrInvalid, "volume %s already belongs to project %s", v.Name, newProjectID)
		}
		if err := s.checkTransferQuota(tx, v, newProjectID); err != nil {
			return err
		}
		from := v.ProjectID
		if err := moveSnapshots(tx, v.ID, newProjectID); err != nil {
			return err
		}
		out = v
		return save(tx, v, func(tx *store.Tx, v *Volume) error {
			v.ProjectID, v.Transfer = newProjectID, nil
			return appendEvent(tx, "volume.transferred", "volume", v.ID, newProjectID,
				map[string]any{"transfer_id": transferID, "from_project_id": from, "to_project_id": newProjectID})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("accept transfer %s: %w", transferID, err)
	}
	return out, nil
}

// findTransfer returns the volume with a pending transfer of that ID.
func findTransfer(tx *store.Tx, transferID string) (*Volume, error) {
	var found *Volume
	err := volumes.ForEach(tx, func(v *Volume) error {
		if v.Transfer != nil && v.Transfer.ID == transferID {
			found = v
		}
		return nil
	})
	if err == nil && found == nil {
		err = faultf(ErrNotFound, "transfer %s not found", quoteShort(transferID))
	}
	return found, err
}

// moveSnapshots gives a volume's snapshots to project (store refuses a name taken there).
func moveSnapshots(tx *store.Tx, volumeID, project string) error {
	all, err := snapshots.List(tx, "")
	if err != nil {
		return err
	}
	for _, sn := range all {
		if sn.VolumeID != volumeID {
			continue
		}
		sn.ProjectID = project
		if err := snapshots.Update(tx, sn); err != nil {
			return err
		}
	}
	return nil
}
