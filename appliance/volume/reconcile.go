package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/store"
)

// errInterrupted is the cause recorded for operations a daemon restart cut short.
var errInterrupted = errors.New("interrupted by a daemon restart")

// reconcile finishes or undoes what a daemon killed in the middle of an operation left behind, in
// this order: volume tasks (snapshots roll forward once the snapshot file exists, else back;
// snapshot deletes finish; extends, reverts and copies end with the record read back from the
// file), volumes stuck in creating (files and record removed) or deleting (finished), snapshots
// stuck without their task (error), and last the temporary files of every volume directory.
// Directories in a pool that no record names are reported, not removed: they may be the data of
// a catalog restored from an older backup.
//
// A volume that cannot be brought back is put in error with the reason and the rest go on: one broken
// volume must not keep the daemon, and every other volume and instance, from starting. Only a catalog
// that cannot be read or written fails the start.
func (s *Service) reconcile(ctx context.Context) error {
	vols, _, err := s.readAll()
	if err != nil {
		return err
	}
	var fatal []error
	for _, v := range vols {
		if v.Task != "" {
			fatal = append(fatal, s.settleOrFail(v, "finish its interrupted "+v.Task, s.finishTask(ctx, v)))
		}
	}
	for _, v := range vols {
		switch v.Status {
		case StatusCreating:
			fatal = append(fatal, s.settleOrFail(v, "roll back its interrupted create", s.rollBackCreate(v)))
		case StatusDeleting:
			fatal = append(fatal, s.settleOrFail(v, "finish its interrupted delete", s.finishDelete(v)))
		}
	}
	fatal = append(fatal, s.strandedSnapshots())
	if err := s.sweep(); err != nil {
		s.log.Warn("remove temporary files of interrupted volume operations", "err", err)
	}
	if err := errors.Join(fatal...); err != nil {
		return fmt.Errorf("clean up interrupted operations: %w", err)
	}
	return nil
}

// settleOrFail puts v in error, its task ended, when what the start did to bring it back (cause)
// failed, and logs why; it returns an error only when the catalog refuses that write.
func (s *Service) settleOrFail(v *Volume, what string, cause error) error {
	if cause == nil {
		return nil
	}
	s.log.Error("volume left in error: the start could not bring it back", "volume", v.ID, "op", what, "err", cause)
	_, err := s.change("", v.ID, func(_ *store.Tx, v *Volume) error {
		v.Task, v.Status, v.Fault = "", StatusError, fmt.Sprintf("%s after a daemon restart failed: %v", what, cause)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // rolled back or deleted as far as its record
	}
	if err != nil {
		return fmt.Errorf("volume %s: %s failed (%w), and recording it failed: %w", v.ID, what, cause, err)
	}
	return nil
}

func (s *Service) readAll() (vols []*Volume, snaps []*Snapshot, err error) {
	err = s.db.View(func(tx *store.Tx) error {
		if vols, err = volumes.List(tx, ""); err != nil {
			return err
		}
		snaps, err = snapshots.List(tx, "")
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read catalog: %w", err)
	}
	return vols, snaps, nil
}

// finishTask ends the task a volume was going through when the daemon stopped.
func (s *Service) finishTask(ctx context.Context, v *Volume) error {
	s.log.Info("finishing interrupted volume task", "volume", v.ID, "task", v.Task)
	name, snapID := taskOf(v)
	var snapErr error
	if snapID != "" {
		_, snapErr = s.Snapshot(ctx, "", snapID)
	}
	switch {
	case name == taskSnapshot && snapErr == nil:
		var fault error
		if v.Attachment != nil {
			fault = errors.New("live snapshot interrupted by a daemon restart: the instance may have kept writing to this file until its next start")
		}
		_, err := s.settleSnapshot(ctx, v.ID, snapID, errInterrupted, fault)
		return err
	case name == taskMerge && snapErr == nil:
		return s.merge(ctx, v.ID, snapID)
	}
	if err := removeTemps(filepath.Dir(v.Path)); err != nil {
		return err
	}
	if _, err := s.change("", v.ID, func(_ *store.Tx, v *Volume) error { end(v); return nil }); err != nil {
		return err
	}
	return s.resync(ctx, v.ID)
}

// rollBackCreate removes a volume whose create never finished: files, then record.
func (s *Service) rollBackCreate(v *Volume) error {
	if err := removeVolumeDir(filepath.Dir(v.Path), v.ID); err != nil {
		return err
	}
	return s.db.Update(func(tx *store.Tx) error {
		return deleteVolumeRecord(tx, v, "create "+errInterrupted.Error())
	})
}

// strandedSnapshots puts in error the snapshots left creating or deleting without their volume's
// task (which should not happen: both are written in one transaction).
func (s *Service) strandedSnapshots() error {
	return s.db.Update(func(tx *store.Tx) error {
		return snapshots.ForEach(tx, func(sn *Snapshot) error {
			if sn.Status != StatusCreating && sn.Status != StatusDeleting {
				return nil
			}
			v, err := volumes.Get(tx, sn.VolumeID)
			if err == nil && (v.Task == taskSnapshot+":"+sn.ID || v.Task == taskMerge+":"+sn.ID) {
				return nil
			}
			return setSnapshotStatus(tx, sn, StatusError, sn.Status+" "+errInterrupted.Error())
		})
	})
}

// sweep removes temporary files from every volume directory and reports unknown directories.
func (s *Service) sweep() error {
	var ps []*Pool
	known := map[string]bool{}
	err := s.db.View(func(tx *store.Tx) (err error) {
		if ps, err = pools.List(tx, ""); err != nil {
			return err
		}
		return volumes.ForEach(tx, func(v *Volume) error { known[filepath.Dir(v.Path)] = true; return nil })
	})
	if err != nil {
		return err
	}
	var errs []error
	for dir := range known {
		errs = append(errs, removeTemps(dir))
	}
	for _, p := range ps {
		entries, err := os.ReadDir(p.Path)
		if err != nil {
			s.log.Warn("cannot read pool directory", "pool", p.Name, "err", err)
			continue
		}
		for _, e := range entries {
			if dir := filepath.Join(p.Path, e.Name()); e.IsDir() && store.IsID(e.Name()) && !known[dir] {
				s.log.Warn("pool directory holds a volume directory no record names; left alone", "pool", p.Name, "dir", dir)
			}
		}
	}
	return errors.Join(errs...)
}
