package volume

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

func TestCreateEmpty(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 2})
	if v.Status != StatusAvailable || v.SizeGiB != 2 || v.Bootable || v.Backing != "" || v.Depth != 0 ||
		v.Path != filepath.Join(e.pool.Path, v.ID, "active.qcow2") || v.PoolID != e.pool.ID {
		t.Fatalf("volume %+v", v)
	}
	ls := chain(t, v.Path)
	if len(ls) != 1 || ls[0].VirtualSize != 2<<30 || ls[0].Format != "qcow2" {
		t.Fatalf("chain %+v", ls)
	}
	for path, mode := range map[string]os.FileMode{filepath.Dir(v.Path): 0o700, v.Path: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want mode %o", path, fi, err, mode)
		}
	}
	if got := strings.Join(e.events(v.ID), " "); got != "volume.created volume.state" {
		t.Errorf("events %s", got)
	}
}

// An overlay on an image is a small qcow2 file whose backing file is the image's disk, with the
// format given explicitly, made in a time that does not depend on the image's size.
func TestCreateFromImageOverlay(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	v := e.create(CreateRequest{Name: "root", ImageID: "img"})
	took := time.Since(start)
	if v.SizeGiB != 1 || !v.Bootable || v.Backing != e.img.Path || v.BackingFormat != "qcow2" || v.Depth != 1 ||
		v.BaseImageID != e.img.ID || v.Source.ImageID != e.img.ID || v.FullCopy {
		t.Fatalf("volume %+v", v)
	}
	ls := chain(t, v.Path)
	if len(ls) != 2 || ls[0].Backing != e.img.Path || ls[0].BackingFmt != "qcow2" || ls[1].Filename != e.img.Path {
		t.Fatalf("chain %+v", ls)
	}
	if ls[0].ActualSize > 1<<20 {
		t.Errorf("overlay allocates %d bytes: not O(1)", ls[0].ActualSize)
	}
	if took > 5*time.Second {
		t.Errorf("overlay took %s", took)
	}
	if !readsAs(v.Path, "0xab") {
		t.Error("the overlay does not show the image's data")
	}
	raw := e.create(CreateRequest{Name: "fromraw", ImageID: "raw", SizeGiB: 3})
	if ls := chain(t, raw.Path); ls[0].BackingFmt != "raw" || ls[0].VirtualSize != 3<<30 || !readsAs(raw.Path, "0xcd") {
		t.Fatalf("overlay on a raw image: %+v", ls)
	}
}

func TestCreateFullCopy(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		image, pattern string
		size           int
	}{{"img", "0xab", 0}, {"raw", "0xcd", 2}} {
		v := e.create(CreateRequest{Name: "copy-" + tc.image, ImageID: tc.image, FullCopy: true, SizeGiB: tc.size})
		ls := chain(t, v.Path)
		if len(ls) != 1 || ls[0].Backing != "" || v.Backing != "" || v.BaseImageID != "" || v.Depth != 0 || !v.FullCopy {
			t.Fatalf("full copy of %s: %+v, chain %+v", tc.image, v, ls)
		}
		if ls[0].VirtualSize != int64(v.SizeGiB)<<30 || !readsAs(v.Path, tc.pattern) {
			t.Errorf("full copy of %s: virtual size %d (want %d GiB) or data wrong", tc.image, ls[0].VirtualSize, v.SizeGiB)
		}
	}
}

func TestCreateFromSnapshotAndClone(t *testing.T) {
	e := newEnv(t)
	src := e.create(CreateRequest{Name: "src", SizeGiB: 2})
	qemuIO(t, src.Path, "qcow2", "write -P 0x11 0 64k")
	sn := e.snapshot("src", "s1")
	qemuIO(t, e.get("src").Path, "qcow2", "write -P 0x22 0 64k")

	fromSnap := e.create(CreateRequest{Name: "fromsnap", SnapshotID: "s1"})
	if fromSnap.Backing != sn.Path || fromSnap.SizeGiB != 2 || fromSnap.Depth != 1 || !readsAs(fromSnap.Path, "0x11") {
		t.Fatalf("from snapshot: %+v", fromSnap)
	}
	if ls := chain(t, fromSnap.Path); ls[0].Backing != sn.Path || ls[0].BackingFmt != "qcow2" {
		t.Fatalf("from snapshot: chain %+v", ls)
	}
	copied := e.create(CreateRequest{Name: "snapcopy", SnapshotID: sn.ID, FullCopy: true})
	if copied.Backing != "" || len(chain(t, copied.Path)) != 1 || !readsAs(copied.Path, "0x11") {
		t.Fatalf("full copy of a snapshot: %+v", copied)
	}

	clone := e.create(CreateRequest{Name: "clone", VolumeID: "src"})
	snaps, _ := e.svc.Snapshots(ctx, proj, "src")
	var cloneSnap *Snapshot
	for _, s := range snaps {
		if s.Name == "clone-"+clone.ID[:8] {
			cloneSnap = s
		}
	}
	if cloneSnap == nil || clone.Backing != cloneSnap.Path || clone.Source.VolumeID != src.ID || clone.Source.SnapshotID != cloneSnap.ID {
		t.Fatalf("clone %+v, snapshots %+v", clone, snaps)
	}
	if !readsAs(clone.Path, "0x22") || !readsAs(e.get("src").Path, "0x22") {
		t.Error("the clone or its source lost data")
	}
	full := e.create(CreateRequest{Name: "fullclone", VolumeID: "src", FullCopy: true, SizeGiB: 4})
	if full.Backing != "" || !readsAs(full.Path, "0x22") || chain(t, full.Path)[0].VirtualSize != 4<<30 {
		t.Fatalf("full clone %+v", full)
	}
	if got := e.get("src"); got.Status != StatusAvailable || got.Task != "" {
		t.Errorf("source after a full clone: %s %q", got.Status, got.Task)
	}
	if got := e.events(src.ID); !slices.Contains(got, "volume.state") {
		t.Errorf("source events %v", got)
	}
}

func TestCreateBadInput(t *testing.T) {
	e := newEnv(t)
	big := e.create(CreateRequest{Name: "big", SizeGiB: 3})
	e.snapshot("big", "bigsnap")
	if _, err := e.svc.CreatePool(ctx, Pool{Meta: store.Meta{Name: "tiny"}, Path: filepath.Join(e.dir, "tiny"), ClusterSize: 512}); err != nil {
		t.Fatal(err)
	}
	before := files(t, e.pool.Path)
	vols, _ := e.svc.List(ctx, "")
	for _, tc := range []struct {
		name string
		r    CreateRequest
		want fault.Kind
	}{
		{"dotdot name", CreateRequest{Name: "../x", SizeGiB: 1}, fault.Invalid},
		{"comma name", CreateRequest{Name: "a,b", SizeGiB: 1}, fault.Invalid},
		{"dash name", CreateRequest{Name: "-x", SizeGiB: 1}, fault.Invalid},
		{"slash name", CreateRequest{Name: "a/b", SizeGiB: 1}, fault.Invalid},
		{"no name", CreateRequest{SizeGiB: 1}, fault.Invalid},
		{"uuid name", CreateRequest{Name: store.NewID(), SizeGiB: 1}, fault.Invalid},
		{"negative size", CreateRequest{Name: "a", SizeGiB: -1}, fault.Invalid},
		{"empty without size", CreateRequest{Name: "a"}, fault.Invalid},
		{"too big", CreateRequest{Name: "a", SizeGiB: MaxSizeGiB + 1}, fault.Invalid},
		{"too big for clusters", CreateRequest{Name: "a", Pool: "tiny", SizeGiB: 200}, fault.Invalid},
		{"smaller than snapshot", CreateRequest{Name: "a", SnapshotID: "bigsnap", SizeGiB: 2}, fault.Invalid},
		{"smaller than volume", CreateRequest{Name: "a", VolumeID: "big", SizeGiB: 1}, fault.Invalid},
		{"smaller than volume, full", CreateRequest{Name: "a", VolumeID: "big", SizeGiB: 1, FullCopy: true}, fault.Invalid},
		{"two sources", CreateRequest{Name: "a", ImageID: "img", SnapshotID: "bigsnap"}, fault.Invalid},
		{"full copy of nothing", CreateRequest{Name: "a", SizeGiB: 1, FullCopy: true}, fault.Invalid},
		{"unknown pool", CreateRequest{Name: "a", Pool: "nope", SizeGiB: 1}, fault.NotFound},
		{"unknown image", CreateRequest{Name: "a", ImageID: "nope"}, fault.NotFound},
		{"unknown snapshot", CreateRequest{Name: "a", SnapshotID: "nope"}, fault.NotFound},
		{"unknown volume", CreateRequest{Name: "a", VolumeID: "nope"}, fault.NotFound},
		{"name taken", CreateRequest{Name: "big", SizeGiB: 1}, fault.Conflict},
		{"name taken, clone", CreateRequest{Name: "big", VolumeID: "big"}, fault.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Create(ctx, proj, tc.r)
			wantKind(t, err, tc.want)
		})
	}
	if got := files(t, e.pool.Path); !slices.Equal(got, before) {
		t.Errorf("pool holds %v after bad input, want %v", got, before)
	}
	if after, _ := e.svc.List(ctx, ""); len(after) != len(vols) {
		t.Errorf("%d volumes after bad input, want %d", len(after), len(vols))
	}
	if snaps, _ := e.svc.Snapshots(ctx, proj, ""); len(snaps) != 1 {
		t.Errorf("%d snapshots after bad input, want 1", len(snaps))
	}
	if got := e.get(big.ID); got.Status != StatusAvailable || got.Task != "" {
		t.Errorf("source left %s %q", got.Status, got.Task)
	}
}

func TestCreateNoCapacity(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "full")
	if _, err := e.svc.CreatePool(ctx, Pool{Meta: store.Meta{Name: "full"}, Path: path, Preallocation: PreallocFull}); err != nil {
		t.Fatal(err)
	}
	_, free, err := fsSpace(path)
	if err != nil {
		t.Fatal(err)
	}
	size := int(free/GiB) + 1
	if size > MaxSizeGiB {
		t.Fatalf("the test filesystem has more than %d GiB free", MaxSizeGiB)
	}
	_, err = e.svc.Create(ctx, proj, CreateRequest{Name: "huge", Pool: "full", SizeGiB: size})
	wantKind(t, err, fault.NoCapacity)
	if got := files(t, path); len(got) != 0 {
		t.Errorf("pool holds %v", got)
	}
	if _, err := e.svc.Get(ctx, proj, "huge"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("record left: %v", err)
	}
}

// A create that fails after its record was written removes its files and its record.
func TestCreateFailureRollsBack(t *testing.T) {
	e := newEnv(t)
	os.Remove(e.img.Path) // the image source still answers with the path
	_, err := e.svc.Create(ctx, proj, CreateRequest{Name: "broken", ImageID: "img"})
	if err == nil {
		t.Fatal("create over a missing image file succeeded")
	}
	if got := files(t, e.pool.Path); len(got) != 0 {
		t.Errorf("pool holds %v", got)
	}
	vols, _ := e.svc.List(ctx, proj)
	if len(vols) != 0 {
		t.Fatalf("volumes %+v", vols)
	}
	all, _ := e.db.EventsSince(0, 0)
	var types []string
	for _, ev := range all {
		if ev.Kind == "volume" {
			types = append(types, ev.Type)
		}
	}
	if strings.Join(types, " ") != "volume.created volume.deleted" {
		t.Errorf("events %v", types)
	}
}
