package volume

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"cloudlet/store"
)

// holdersOf lists what holds image id in the catalog, as "volumes/name" and "snapshots/name", sorted.
func (e *env) holdersOf(id string) []string {
	e.t.Helper()
	var out []string
	err := e.db.View(func(tx *store.Tx) error {
		hs, err := store.Holders(tx, store.Ref{Bucket: store.BucketImages, ID: id})
		for _, h := range hs {
			out = append(out, h.Bucket+"/"+h.Name)
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// A volume holds the image its chain is based on, and so do a snapshot of it and a volume made
// from that snapshot (whose chain reaches the image through the snapshot), each for as long as its
// record exists. A full copy holds the image only while it is copied; a raw image nothing stands
// on is held by nothing.
func TestVolumesAndSnapshotsOnAnImageHoldItWhileTheirRecordsExist(t *testing.T) {
	e := newEnv(t)
	check := func(want ...string) {
		t.Helper()
		got := e.holdersOf(e.img.ID)
		if !slices.Equal(got, want) {
			t.Errorf("holders of the image = %q, want %q", got, want)
		}
	}
	e.create(CreateRequest{Name: "copy", ImageID: "img", FullCopy: true})
	check()
	e.create(CreateRequest{Name: "overlay", ImageID: "img"})
	check("volumes/overlay")
	e.snapshot("overlay", "s")
	e.create(CreateRequest{Name: "child", SnapshotID: "s"})
	check("snapshots/s", "volumes/child", "volumes/overlay")
	for _, step := range []func() error{
		func() error { return e.svc.Delete(ctx, proj, "child") },
		func() error { return e.svc.DeleteSnapshot(ctx, proj, "s") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	check("volumes/overlay")
	if err := e.svc.Delete(ctx, proj, "overlay"); err != nil {
		t.Fatal(err)
	}
	check()
	if h := e.holdersOf(e.raw.ID); len(h) != 0 {
		t.Errorf("holders of the raw image = %q", h)
	}
}

// The race the holds close: the image is resolved, then its delete begins (the image service
// seals its record in the transaction that marks it deleted), then the volume's record would be
// written. The create is refused with a conflict and leaves no record and no file.
func TestAVolumeFromAnImageWhoseDeleteBeganAfterItWasResolvedIsRefused(t *testing.T) {
	e := newEnv(t)
	resolve := e.o.Images
	e.o.Images = func(ctx context.Context, projectID, ref string) (ImageFile, error) {
		img, err := resolve(ctx, projectID, ref)
		if err == nil {
			err = e.db.Update(func(tx *store.Tx) error {
				holders, err := store.Seal(tx, store.Ref{Bucket: store.BucketImages, ID: img.ID})
				if len(holders) > 0 {
					t.Errorf("the image is held by %+v", holders)
				}
				return err
			})
		}
		return img, err
	}
	e.start()
	for _, r := range []CreateRequest{{Name: "overlay", ImageID: "img"}, {Name: "copy", ImageID: "raw", FullCopy: true}} {
		_, err := e.svc.Create(ctx, proj, r)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("create %s from an image being deleted: %v, want a conflict", r.Name, err)
		}
	}
	if vols, err := e.svc.List(ctx, proj); err != nil || len(vols) != 0 {
		t.Errorf("volumes after the refused creates: %+v, %v; want none", vols, err)
	}
	if entries, err := os.ReadDir(e.pool.Path); err != nil || len(entries) != 0 {
		t.Errorf("left in the pool: %v, %v; want nothing", entries, err)
	}
}

// A catalog from before the holds table has volumes and snapshots on images but no holds: the
// service records them when it starts, before anything can delete the image.
func TestStartingOnACatalogWithoutHoldsRecordsThoseOfExistingVolumesAndSnapshots(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "overlay", ImageID: "img"})
	sn := e.snapshot("overlay", "s")
	// Records as an older cloudlet wrote them: through kinds that declare no holds.
	oldVolumes := store.NewKind[Volume](store.BucketVolumes, store.ScopeProject)
	oldSnapshots := store.NewKind[Snapshot](store.BucketSnapshots, store.ScopeProject)
	err := e.db.Update(func(tx *store.Tx) error {
		ov := *v
		ov.ID, ov.Name, ov.Revision = store.NewID(), "older", 0
		if err := oldVolumes.Create(tx, &ov); err != nil {
			return err
		}
		osn := *sn
		osn.ID, osn.Name, osn.VolumeID, osn.Revision = store.NewID(), "older-snap", ov.ID, 0
		return oldSnapshots.Create(tx, &osn)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"snapshots/s", "volumes/overlay"}
	if got := e.holdersOf(e.img.ID); !slices.Equal(got, want) {
		t.Fatalf("holders before the restart = %q, want %q", got, want)
	}
	e.start()
	want = []string{"snapshots/older-snap", "snapshots/s", "volumes/older", "volumes/overlay"}
	if got := e.holdersOf(e.img.ID); !slices.Equal(got, want) {
		t.Errorf("holders after the restart = %q, want %q", got, want)
	}
}
