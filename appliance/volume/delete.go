package volume

import (
	"context"
	"fmt"
	"path/filepath"

	"cloudlet/store"
)

// Delete removes a volume: its status becomes deleting, its directory goes, then its record.
// It is refused (409) while the volume is reserved or in use (naming the instance), while a task
// runs on it, while another volume is based on one of its snapshots (naming that volume), and
// while it has snapshots (naming one: delete them first). A pending transfer goes with it.
func (s *Service) Delete(_ context.Context, projectID, idOrName string) error {
	var v *Volume
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if v, err = volumes.Lookup(tx, projectID, idOrName); err != nil {
			return err
		}
		if v.Task != "" || v.Attachment != nil || (v.Status != StatusAvailable && v.Status != StatusError) {
			return stateConflict(v, "delete")
		}
		if err := deletable(tx, v); err != nil {
			return err
		}
		return save(tx, v, func(*store.Tx, *Volume) error { v.Status, v.Transfer = StatusDeleting, nil; return nil })
	})
	if err != nil {
		return fmt.Errorf("delete volume %s: %w", idOrName, err)
	}
	return s.finishDelete(v)
}

// deletable refuses to delete v while anything depends on it.
func deletable(tx *store.Tx, v *Volume) error {
	why, err := dependentsOf(tx, v)
	if err != nil {
		return err
	}
	if why != "" {
		return faultf(ErrConflict, "cannot delete volume %s: %s", v.Name, why)
	}
	return nil
}

// dependentsOf says what depends on v and stops its delete ("it has snapshot nightly (…); delete its
// snapshots, then the volume", "volume b (…) is based on its snapshot nightly"), or "" when nothing does.
func dependentsOf(tx *store.Tx, v *Volume) (string, error) {
	g, err := loadGraph(tx)
	if err != nil {
		return "", err
	}
	var own *Snapshot
	for _, sn := range g.snaps {
		if sn.VolumeID != v.ID {
			continue
		}
		if who := g.foreignDependent(sn); who != "" {
			return fmt.Sprintf("%s is based on its snapshot %s", who, sn.Name), nil
		}
		own = sn
	}
	for _, o := range g.vols {
		if o.ID == v.ID {
			continue
		}
		for _, sn := range g.under(o.Backing) {
			if sn.VolumeID == v.ID {
				return fmt.Sprintf("%s is based on its snapshot %s", describe(o), sn.Name), nil
			}
		}
	}
	if own != nil {
		return fmt.Sprintf("it has snapshot %s (%s); delete its snapshots, then the volume", own.Name, own.ID), nil
	}
	return "", nil
}

// finishDelete removes a deleting volume's files and then its record; a volume whose files cannot
// be removed stays, in error.
func (s *Service) finishDelete(v *Volume) error {
	rmErr := removeVolumeDir(filepath.Dir(v.Path), v.ID)
	err := s.db.Update(func(tx *store.Tx) error {
		if rmErr != nil {
			_, err := s.changeTx(tx, v.ID, func(v *Volume) { v.Status, v.Fault = StatusError, "delete failed: "+rmErr.Error() })
			return err
		}
		return deleteVolumeRecord(tx, v, "")
	})
	if rmErr != nil {
		return fmt.Errorf("delete volume %s: %w", v.Name, rmErr)
	}
	if err != nil {
		return fmt.Errorf("delete volume %s: %w", v.Name, err)
	}
	return nil
}
