package volume

import (
	"strings"
	"testing"
)

func TestImageInUse(t *testing.T) {
	e := newEnv(t)
	check := func(want string) {
		t.Helper()
		got, err := e.svc.ImageInUse(ctx, e.img.ID, proj)
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
	if got, _ := e.svc.ImageInUse(ctx, e.raw.ID, proj); got != "" {
		t.Errorf("raw image in use by %s", got)
	}
}

// TestProbe14ImageInUseNeverNamesAnotherProjectsVolume: the owner of a public or shared image asking
// whether it is in use learns that another project's volume uses it, never which one.
func TestProbe14ImageInUseNeverNamesAnotherProjectsVolume(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "secret-name", ImageID: "img"})
	got, err := e.svc.ImageInUse(ctx, e.img.ID, "another-project")
	if err != nil || got != "a volume of another project" {
		t.Errorf("ImageInUse to another project = %q, %v; want only that another project uses it", got, err)
	}
	if strings.Contains(got, v.ID) || strings.Contains(got, v.Name) {
		t.Errorf("ImageInUse to another project names the volume: %q", got)
	}
	if got, _ := e.svc.ImageInUse(ctx, e.img.ID, proj); got != "volume secret-name ("+v.ID+")" {
		t.Errorf("ImageInUse to the volume's own project = %q, want it named", got)
	}
}
