package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"cloudlet/store"
)

// DeleteSnapshot removes a snapshot by merging it out of its volume's chain: every file whose
// backing file it is (newer snapshots of the volume, the active file) is rebased onto the
// snapshot's own backing file with qemu-img rebase (which copies in what the snapshot held, so
// their content does not change), then its file and record go.
//
// It is refused (409) while the snapshot is in the chain of an in-use or reserved volume (QEMU
// holds the files: detach the volume or stop the instance first), and while another volume is
// based on it (named in the message). A snapshot on a branch QEMU does not use (after a revert)
// can be deleted while its volume is in use.
func (s *Service) DeleteSnapshot(ctx context.Context, projectID, idOrName string) error {
	var sn *Snapshot
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if sn, err = snapshots.Lookup(tx, projectID, idOrName); err != nil {
			return err
		}
		if sn.Status == StatusCreating || sn.Status == StatusDeleting {
			return faultf(ErrConflict, "cannot delete snapshot %s: it is %s", sn.Name, sn.Status)
		}
		g, err := loadGraph(tx)
		if err != nil {
			return err
		}
		if err := mergeable(g, sn); err != nil {
			return err
		}
		v, err := volumes.Get(tx, sn.VolumeID)
		if err != nil {
			return err
		}
		err = save(tx, v, func(*store.Tx, *Volume) error {
			return begin(v, taskMerge+":"+sn.ID, "delete a snapshot of", StatusAvailable, StatusInUse)
		})
		if err != nil {
			return err
		}
		return setSnapshotStatus(tx, sn, StatusDeleting, "")
	})
	if err != nil {
		return fmt.Errorf("delete snapshot %s: %w", idOrName, err)
	}
	if err := s.merge(ctx, sn.VolumeID, sn.ID); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", sn.Name, err)
	}
	return nil
}

// mergeable refuses to merge sn out while another volume is based on it or QEMU may hold it.
func mergeable(g *graph, sn *Snapshot) error {
	if who := g.foreignDependent(sn); who != "" {
		return faultf(ErrConflict, "cannot delete snapshot %s: %s is based on it", sn.Name, who)
	}
	for _, v := range g.vols {
		if v.Attachment != nil && g.dependsOn(v.Backing, sn) {
			return faultf(ErrConflict, "cannot delete snapshot %s: it is in the chain of %s, %s by instance %s; detach it or stop the instance first",
				sn.Name, describe(v), v.Status, v.Attachment.InstanceID)
		}
	}
	return nil
}

// merge does the file steps of a snapshot delete and then drops the record; run again after an
// interruption it finishes the job (a rebase done twice changes nothing). On failure the snapshot
// is left in error, its chain intact.
func (s *Service) merge(ctx context.Context, volumeID, snapshotID string) error {
	var sn *Snapshot
	var children []string
	err := s.db.View(func(tx *store.Tx) (err error) {
		if sn, err = snapshots.Get(tx, snapshotID); err != nil {
			return err
		}
		g, err := loadGraph(tx)
		if err != nil {
			return err
		}
		snaps, vols := g.childrenOf(sn)
		for _, x := range snaps {
			children = append(children, x.Path)
		}
		for _, v := range vols {
			children = append(children, v.Path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cause := s.rebaseChildren(ctx, sn, children)
	err = s.db.Update(func(tx *store.Tx) error {
		if _, err := s.changeTx(tx, volumeID, end); err != nil {
			return err
		}
		if cause != nil {
			sn, err := snapshots.Get(tx, snapshotID)
			if err != nil {
				return err
			}
			return setSnapshotStatus(tx, sn, StatusError, "delete failed: "+cause.Error())
		}
		return dropFromChain(tx, snapshotID)
	})
	return errors.Join(cause, err)
}

// rebaseChildren rebases each child onto sn's backing file and then removes sn's file.
func (s *Service) rebaseChildren(ctx context.Context, sn *Snapshot, children []string) error {
	for _, c := range children {
		if err := s.img.rebase(ctx, c, backingRef(filepath.Dir(c), sn.Backing), sn.BackingFormat); err != nil {
			return err
		}
	}
	if err := os.Remove(sn.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove snapshot file: %w", err)
	}
	return syncDir(filepath.Dir(sn.Path))
}

// dropFromChain deletes a merged snapshot's record and fixes the records of the files above it:
// its children now sit on its backing file, and everything above it has one file less under it.
func dropFromChain(tx *store.Tx, snapshotID string) error {
	g, err := loadGraph(tx)
	if err != nil {
		return err
	}
	var sn *Snapshot
	for _, x := range g.snaps {
		if x.ID == snapshotID {
			sn = x
		}
	}
	if sn == nil {
		return fmt.Errorf("snapshot %s vanished", snapshotID)
	}
	// Decide first, then change: relinking a record changes the chains the walk follows.
	var snaps []*Snapshot
	var vols []*Volume
	for _, x := range g.snaps {
		if x.ID != sn.ID && g.dependsOn(x.Backing, sn) {
			snaps = append(snaps, x)
		}
	}
	for _, v := range g.vols {
		if g.dependsOn(v.Backing, sn) {
			vols = append(vols, v)
		}
	}
	for _, x := range snaps {
		relink(&x.Backing, &x.BackingFormat, &x.Depth, sn)
		if err := snapshots.Update(tx, x); err != nil {
			return err
		}
	}
	for _, v := range vols {
		relink(&v.Backing, &v.BackingFormat, &v.Depth, sn)
		if err := volumes.Update(tx, v); err != nil {
			return err
		}
	}
	return deleteSnapshotRecord(tx, sn, "")
}

// relink updates a file above the merged snapshot sn: one file less under it, and sn's backing
// file as its own when sn was its backing file.
func relink(backing, format *string, depth *int, sn *Snapshot) {
	*depth--
	if *backing == sn.Path {
		*backing, *format = sn.Backing, sn.BackingFormat
	}
}
