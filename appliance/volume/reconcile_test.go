package volume

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// plant writes a record as a crashed daemon would have left it.
func (e *env) plant(fn func(tx *store.Tx) error) {
	e.t.Helper()
	if err := e.db.Update(fn); err != nil {
		e.t.Fatal(err)
	}
}

// A daemon killed in the middle of a create left a creating record and a temp file; one killed
// in the middle of a delete left a deleting record; others left stray temp files. New cleans up.
func TestReconcileCreatingDeletingTemps(t *testing.T) {
	e := newEnv(t)
	keep := e.create(CreateRequest{Name: "keep", ImageID: "img"})
	gone := e.create(CreateRequest{Name: "gone", SizeGiB: 1})
	id := store.NewID()
	dir := filepath.Join(e.pool.Path, id)
	e.plant(func(tx *store.Tx) error {
		return volumes.Create(tx, &Volume{Meta: store.Meta{ID: id, Name: "half", ProjectID: proj}, PoolID: e.pool.ID,
			Status: StatusCreating, SizeGiB: 1, Path: filepath.Join(dir, firstName), Source: Source{ImageID: e.img.ID}})
	})
	os.Mkdir(dir, 0o700)
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", filepath.Join(dir, firstName+tmpSuffix), "1G")
	e.plant(func(tx *store.Tx) error {
		v, _ := volumes.Get(tx, gone.ID)
		v.Status = StatusDeleting
		return volumes.Update(tx, v)
	})
	stray := filepath.Join(filepath.Dir(keep.Path), "active-"+store.NewID()+".qcow2.tmp")
	os.WriteFile(stray, []byte("half a file"), 0o600)
	orphan := filepath.Join(e.pool.Path, store.NewID())
	os.Mkdir(orphan, 0o700)
	if h := e.holdersOf(e.img.ID); !slices.Contains(h, "volumes/half") {
		t.Errorf("holders of the image during the create = %q, want the volume being copied from it", h)
	}

	e.start()

	for _, gone := range []string{id, gone.ID} {
		if _, err := e.svc.Get(ctx, proj, gone); fault.KindOf(err) != fault.NotFound {
			t.Errorf("record %s still there: %v", gone, err)
		}
		if _, err := os.Stat(filepath.Join(e.pool.Path, gone)); !os.IsNotExist(err) {
			t.Errorf("directory of %s still there: %v", gone, err)
		}
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("stray temp file still there: %v", err)
	}
	if got := e.get("keep"); got.Status != StatusAvailable || !readsAs(got.Path, "0xab") {
		t.Errorf("an unrelated volume suffered: %+v", got)
	}
	if _, err := os.Stat(orphan); err != nil {
		t.Errorf("a directory no record names was removed: %v", err)
	}
	if ev := e.events(id); !slices.Equal(ev, []string{"volume.deleted"}) {
		t.Errorf("events of the rolled back volume: %v", ev)
	}
}

// A snapshot cut short rolls back until the new active file is in place and forward once it is.
func TestReconcileSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name     string
		live     bool
		placed   bool // the overlay had been renamed to its final name
		want     string
		wantSnap bool
	}{
		{"before the overlay is in place", false, false, StatusAvailable, false},
		{"after the overlay is in place", false, true, StatusAvailable, true},
		{"live before the overlay is in place", true, false, StatusInUse, false},
		{"live after the overlay is in place", true, true, StatusInUse, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
			qemuIO(t, v.Path, "qcow2", "write -P 0x11 0 64k")
			if tc.live {
				e.attach("data", "inst-1", "vdb")
			}
			var sn *Snapshot
			e.plant(func(tx *store.Tx) error {
				v, _ := volumes.Get(tx, v.ID)
				var err error
				sn, _, err = e.svc.snapshotIntent(tx, v, "s")
				return err
			})
			dir := filepath.Dir(v.Path)
			next := nextActivePath(dir, sn.ID)
			run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", filepath.Base(v.Path), "-u", tmpFor(next), "1G")
			if tc.placed {
				os.Rename(tmpFor(next), next)
			}

			e.start()

			got := e.get("data")
			if got.Status != tc.want || got.Task != "" || !readsAs(got.Path, "0x11") {
				t.Fatalf("volume %+v", got)
			}
			snaps, _ := e.svc.Snapshots(ctx, proj, "data")
			wantFiles := []string{"active.qcow2"}
			if tc.wantSnap {
				wantFiles = []string{filepath.Base(next), "active.qcow2"}
				if len(snaps) != 1 || got.Path != next || got.Backing != sn.Path || sn.Path != v.Path || got.Depth != 1 {
					t.Fatalf("rolled forward: volume %+v, snapshots %+v", got, snaps)
				}
				wantStatus := StatusAvailable
				if tc.live {
					wantStatus = StatusError // QEMU may have kept writing to it
				}
				if snaps[0].Status != wantStatus || (tc.live && !strings.Contains(snaps[0].Fault, "interrupted")) {
					t.Errorf("snapshot %+v", snaps[0])
				}
			} else if len(snaps) != 0 || got.Backing != "" || got.Path != v.Path {
				t.Fatalf("rolled back: volume %+v, snapshots %+v", got, snaps)
			}
			if files := files(t, dir); !slices.Equal(files, wantFiles) {
				t.Errorf("files %v, want %v", files, wantFiles)
			}
		})
	}
}

// A snapshot of the old layout (active.qcow2 renamed to snap-<id>.qcow2, the overlay written as
// active.qcow2.tmp) cut short after the rename still rolls forward the old way; the volume then
// takes snapshots in the new layout.
func TestReconcileLegacySnapshot(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	qemuIO(t, v.Path, "qcow2", "write -P 0x11 0 64k")
	dir := filepath.Dir(v.Path)
	var sn *Snapshot
	e.plant(func(tx *store.Tx) error {
		v, _ := volumes.Get(tx, v.ID)
		var err error
		if sn, _, err = e.svc.snapshotIntent(tx, v, "old"); err != nil {
			return err
		}
		sn.Path = filepath.Join(dir, "snap-"+sn.ID+".qcow2")
		return snapshots.Update(tx, sn)
	})
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", filepath.Base(sn.Path), "-u", filepath.Join(dir, legacyTmp), "1G")
	os.Rename(v.Path, sn.Path)

	e.start()

	got := e.get("data")
	if got.Path != v.Path || got.Backing != sn.Path || got.Depth != 1 || got.Task != "" || !readsAs(got.Path, "0x11") {
		t.Fatalf("volume %+v", got)
	}
	qemuIO(t, got.Path, "qcow2", "write -P 0x22 0 64k")
	s2 := e.snapshot("data", "new")
	got = e.get("data")
	if s2.Path != v.Path || got.Path != nextActivePath(dir, s2.ID) || got.Depth != 2 || !readsAs(got.Path, "0x22") || !readsAs(sn.Path, "0x11") {
		t.Fatalf("snapshot after the old layout: volume %+v, snapshot %+v", got, s2)
	}
	if err := e.svc.DeleteSnapshot(ctx, proj, "old"); err != nil {
		t.Fatal(err)
	}
	if got := e.get("data"); got.Depth != 1 || !readsAs(got.Path, "0x22") {
		t.Fatalf("after merging the old snapshot: %+v", got)
	}
}

// A snapshot delete cut short (after one of two rebases) finishes at start.
func TestReconcileMerge(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", ImageID: "img"})
	qemuIO(t, v.Path, "qcow2", "write -P 0x11 64k 64k")
	s1 := e.snapshot("data", "s1")
	qemuIO(t, e.get("data").Path, "qcow2", "write -P 0x22 128k 64k")
	e.snapshot("data", "s2")
	if _, err := e.svc.Revert(ctx, proj, "data", "s1"); err != nil { // s1 now has two children: s2 and the active file
		t.Fatal(err)
	}
	v = e.get("data")
	e.plant(func(tx *store.Tx) error {
		v, _ := volumes.Get(tx, v.ID)
		sn, _ := snapshots.Get(tx, s1.ID)
		if err := save(tx, v, func(*store.Tx, *Volume) error { return begin(v, taskMerge+":"+sn.ID, "test", StatusAvailable) }); err != nil {
			return err
		}
		return setSnapshotStatus(tx, sn, StatusDeleting, "")
	})
	run(t, "qemu-img", "rebase", "-q", "-f", "qcow2", "-F", "qcow2", "-b", e.img.Path, v.Path)

	e.start()

	if _, err := e.svc.Snapshot(ctx, proj, "s1"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("merged snapshot still there: %v", err)
	}
	s2, _ := e.svc.Snapshot(ctx, proj, "s2")
	got := e.get("data")
	if got.Status != StatusAvailable || got.Task != "" || got.Backing != e.img.Path || got.Depth != 1 ||
		s2.Backing != e.img.Path || s2.Depth != 1 || s2.Status != StatusAvailable {
		t.Fatalf("volume %+v, s2 %+v", got, s2)
	}
	if !reads(v.Path, "read -P 0x11 64k 64k") || !reads(v.Path, "read -P 0 128k 64k") ||
		!reads(s2.Path, "read -P 0x11 64k 64k") || !readsAs(s2.Path, "0xab") {
		t.Error("data lost in the merge")
	}
}

// An extend cut short: the record is read back from the file.
func TestReconcileExtendAndCopy(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	src := e.create(CreateRequest{Name: "src", SizeGiB: 1})
	e.plant(func(tx *store.Tx) error {
		v, _ := volumes.Get(tx, v.ID)
		if err := save(tx, v, func(*store.Tx, *Volume) error { return begin(v, taskExtend, "test", StatusAvailable) }); err != nil {
			return err
		}
		src, _ := volumes.Get(tx, src.ID)
		return save(tx, src, func(*store.Tx, *Volume) error { return begin(src, taskCopy, "test", StatusAvailable) })
	})
	run(t, "qemu-img", "resize", "-q", "-f", "qcow2", v.Path, "3G")

	e.start()

	if got := e.get("data"); got.SizeGiB != 3 || got.Status != StatusAvailable || got.Task != "" {
		t.Errorf("extended volume %+v", got)
	}
	if got := e.get("src"); got.Status != StatusAvailable || got.Task != "" {
		t.Errorf("copy source %+v", got)
	}
}

// A volume the start cannot bring back (its interrupted extend cannot be finished: its directory is
// not one) is put in error with the reason, and the start goes on: the daemon and every other volume
// come up. The volume can then be deleted.
func TestAVolumeTheStartCannotBringBackIsInErrorAndTheRestStart(t *testing.T) {
	e := newEnv(t)
	bad := e.create(CreateRequest{Name: "bad", SizeGiB: 1})
	e.create(CreateRequest{Name: "good", SizeGiB: 1})
	e.plant(func(tx *store.Tx) error {
		v, _ := volumes.Get(tx, bad.ID)
		return save(tx, v, func(*store.Tx, *Volume) error { return begin(v, taskExtend, "test", StatusAvailable) })
	})
	dir := filepath.Dir(bad.Path)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}

	e.start()

	got := e.get("bad")
	if got.Status != StatusError || got.Task != "" || !strings.Contains(got.Fault, "finish its interrupted extend") ||
		!strings.Contains(got.Fault, "not a directory") {
		t.Errorf("volume whose task could not be finished: %+v, want error with the reason and no task", got)
	}
	if got := e.get("good"); got.Status != StatusAvailable {
		t.Errorf("another volume: %+v, want it available", got)
	}
	os.Remove(dir)
	if err := e.svc.Delete(ctx, proj, bad.ID); err != nil {
		t.Errorf("delete the volume in error: %v", err)
	}
}
