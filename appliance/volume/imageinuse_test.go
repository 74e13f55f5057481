package volume

import (
	"testing"
)

func TestImageInUse(t *testing.T) {
	e := newEnv(t)
	check := func(want string) {
		t.Helper()
		got, err := e.svc.ImageInUse(ctx, e.img.ID)
		if err != nil || got != want {
			t.Fatalf("ImageInUse = %q, %v; want %q", got, err, want)
		}
	}
	check("")
	e.create(CreateRequest{Name: "copy", ImageID: "img", FullCopy: true})
	check("")
	v := e.create(CreateRequest{Name: "overlay", ImageID: "img"})
	check("volume overlay (" + v.ID + ")")
	e.snapshot("overlay", "s")
	child := e.create(CreateRequest{Name: "child", SnapshotID: "s"})
	if child.BaseImageID != e.img.ID {
		t.Errorf("a volume on a snapshot of an overlay does not know its image: %+v", child)
	}
	for _, step := range []func() error{
		func() error { return e.svc.Delete(ctx, proj, "child") },
		func() error { return e.svc.DeleteSnapshot(ctx, proj, "s") },
		func() error { return e.svc.Delete(ctx, proj, "overlay") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	check("")
	if got, _ := e.svc.ImageInUse(ctx, e.raw.ID); got != "" {
		t.Errorf("raw image in use by %s", got)
	}
}
