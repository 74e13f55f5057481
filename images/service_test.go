package images

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

// importIn imports a small raw image into project with visibility.
func (e *env) importIn(project, name, visibility string) *Image {
	e.t.Helper()
	r := e.request(name, e.write(project+"-"+name, []byte("disk of "+name)), FormatRaw)
	r.ProjectID, r.Visibility = project, visibility
	return e.mustImport(r)
}

func names(imgs []*Image) []string {
	out := []string{}
	for _, img := range imgs {
		out = append(out, img.ProjectID+"/"+img.Name)
	}
	return out
}

func TestVisibility(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	priv := e.importIn(projectA, "a-private", VisibilityPrivate)
	pub := e.importIn(projectA, "a-public", VisibilityPublic)
	e.importIn(projectB, "b-private", VisibilityPrivate)

	t.Run("owner sees both", func(t *testing.T) {
		got, err := e.svc.List(ctx, projectA)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"project-a/a-private", "project-a/a-public"}, names(got)); diff != "" {
			t.Errorf("List(A) (-want +got):\n%s", diff)
		}
	})
	t.Run("other project lists its own and the public one, sorted by name", func(t *testing.T) {
		got, err := e.svc.List(ctx, projectB)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"project-a/a-public", "project-b/b-private"}, names(got)); diff != "" {
			t.Errorf("List(B) (-want +got):\n%s", diff)
		}
	})
	t.Run("other project gets the public one by name and ID", func(t *testing.T) {
		for _, ref := range []string{pub.Name, pub.ID} {
			got, err := e.svc.Get(ctx, projectB, ref)
			if err != nil || got.ID != pub.ID {
				t.Errorf("Get(B, %s) = %v, %v; want image %s", ref, got, err, pub.ID)
			}
			if _, err := e.svc.BootFiles(ctx, projectB, ref); err != nil {
				t.Errorf("BootFiles(B, %s): %v", ref, err)
			}
		}
	})
	t.Run("another project's private image looks missing", func(t *testing.T) {
		missing := store.NewID()
		for ref, absent := range map[string]string{priv.ID: missing, priv.Name: "no-such-image"} {
			_, err := e.svc.Get(ctx, projectB, ref)
			checkErr(t, err, ErrNotFound, fault.NotFound)
			_, errAbsent := e.svc.Get(ctx, projectB, absent)
			if got, want := err.Error(), fmt.Sprintf("image %q not found", ref); got != want {
				t.Errorf("Get(B, %s) error %q, want %q", ref, got, want)
			}
			if got, want := errAbsent.Error(), fmt.Sprintf("image %q not found", absent); got != want {
				t.Errorf("Get(B, %s) error %q, want %q", absent, got, want)
			}
			_, err = e.svc.BootFiles(ctx, projectB, ref)
			checkErr(t, err, ErrNotFound, fault.NotFound)
			checkErr(t, e.svc.Delete(ctx, projectB, ref), ErrNotFound, fault.NotFound)
		}
	})
	t.Run("only the owner deletes a public image", func(t *testing.T) {
		checkErr(t, e.svc.Delete(ctx, projectB, pub.ID), ErrNotOwner, fault.Forbidden)
		if _, err := e.svc.Get(ctx, projectA, pub.ID); err != nil {
			t.Errorf("public image gone after a refused delete: %v", err)
		}
	})
	t.Run("no project", func(t *testing.T) {
		_, err := e.svc.Get(ctx, "", pub.ID)
		checkErr(t, err, ErrInvalid, fault.Invalid)
		_, err = e.svc.List(ctx, "")
		checkErr(t, err, ErrInvalid, fault.Invalid)
	})
}

// Names are unique per project only: a project's own image wins, and a name shared by several
// public images of other projects needs the ID.
func TestPublicNameLookup(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.importIn(projectA, "ubuntu", VisibilityPublic)
	e.importIn("project-c", "ubuntu", VisibilityPublic)

	_, err := e.svc.Get(ctx, projectB, "ubuntu")
	checkErr(t, err, ErrAmbiguous, fault.Conflict, "2 public images", "use the ID")

	own := e.importIn(projectB, "ubuntu", VisibilityPrivate)
	got, err := e.svc.Get(ctx, projectB, "ubuntu")
	if err != nil || got.ID != own.ID {
		t.Errorf("Get(B, ubuntu) = %v, %v; want B's own image %s", got, err, own.ID)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	img := e.importIn(projectA, "gone", VisibilityPrivate)
	if err := e.svc.Delete(ctx, projectA, "gone"); err != nil {
		t.Fatal(err)
	}
	e.assertNothingLeft()
	_, err := e.svc.Get(ctx, projectA, img.ID)
	checkErr(t, err, ErrNotFound, fault.NotFound)
	checkErr(t, e.svc.Delete(ctx, projectA, "gone"), ErrNotFound, fault.NotFound)
}

func TestDeleteProtected(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.request("keep", e.write("disk.raw", make([]byte, 4096)), FormatRaw)
	r.Protected = true
	img := e.mustImport(r)

	checkErr(t, e.svc.Delete(ctx, projectA, "keep"), ErrProtected, fault.Conflict, "protected")
	got, err := e.svc.Get(ctx, projectA, "keep")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(img, got); diff != "" {
		t.Errorf("image changed by a refused delete (-before +after):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(e.dir, img.ID, "disk")); err != nil {
		t.Errorf("disk of a protected image: %v", err)
	}
}

func TestDeleteWhileImporting(t *testing.T) {
	e := newEnv(t)
	img := e.setStatus(e.importIn(projectA, "busy", VisibilityPrivate), StatusSaving)
	checkErr(t, e.svc.Delete(context.Background(), projectA, img.ID), ErrNotActive, fault.Conflict, "saving")
}

func TestBootFilesDiskVanished(t *testing.T) {
	e := newEnv(t)
	img := e.importIn(projectA, "vanishing", VisibilityPrivate)
	if err := os.Remove(filepath.Join(e.dir, img.ID, "disk")); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.BootFiles(context.Background(), projectA, "vanishing")
	checkErr(t, err, fs.ErrNotExist, fault.Internal, img.ID, "disk")
}

func TestBootFilesKernelVanished(t *testing.T) {
	e := newEnv(t)
	r := e.request("direct", e.write("disk.raw", make([]byte, 4096)), FormatRaw)
	r.KernelPath = e.write("vmlinuz", []byte("kernel"))
	img := e.mustImport(r)
	if err := os.Remove(filepath.Join(e.dir, img.ID, "kernel")); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.BootFiles(context.Background(), projectA, "direct")
	checkErr(t, err, fs.ErrNotExist, fault.Internal, "kernel")
}

func TestBootFilesNotActive(t *testing.T) {
	for _, status := range []string{StatusQueued, StatusSaving, StatusKilled, StatusDeleted} {
		t.Run(status, func(t *testing.T) {
			e := newEnv(t)
			img := e.setStatus(e.importIn(projectA, "img", VisibilityPrivate), status)
			_, err := e.svc.BootFiles(context.Background(), projectA, img.ID)
			checkErr(t, err, ErrNotActive, fault.Conflict, status+", not active")
		})
	}
}

// setStatus changes an image's status in the catalog behind the service's back.
func (e *env) setStatus(img *Image, status string) *Image {
	e.t.Helper()
	img.Status = status
	if err := e.db.Update(func(tx *store.Tx) error { return imageRecords.Update(tx, img) }); err != nil {
		e.t.Fatal(err)
	}
	return img
}

func TestNewOptions(t *testing.T) {
	db := testkit.Catalog(t, "", store.Options{})
	if _, err := New(db, Options{}); err == nil {
		t.Error("New without a Dir succeeded")
	}
	if _, err := New(db, Options{Dir: t.TempDir(), MaxVirtualSize: -1}); err == nil {
		t.Error("New with a negative cap succeeded")
	}
	dir := filepath.Join(t.TempDir(), "new", "images")
	s, err := New(db, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if s.maxVirtual != DefaultMaxVirtualSize || s.qemuImg.path != "qemu-img" || s.dir != dir || s.qemuImg.prlimit == "" {
		t.Errorf("defaults: cap %d, qemu-img %q, dir %q, prlimit %q", s.maxVirtual, s.qemuImg.path, s.dir, s.qemuImg.prlimit)
	}
	checkMode(t, dir, 0o700)
}

// An ISO's boot files say it is one, and pass its hw_cdrom_bus on: compute attaches it as a CD-ROM on
// that bus and gives the instance a blank disk, where a raw disk image would be the boot disk itself.
// QEMU still reads it as raw.
func TestBootFilesOfAnISOSayItIsAnISO(t *testing.T) {
	e := newEnv(t)
	r := e.request("installer", e.write("d.iso", isoBytes()), FormatISO)
	r.Properties = map[string]string{PropCDROMBus: "scsi"}
	iso := e.mustImport(r)
	raw := e.mustImport(e.request("disk", e.write("d.raw", make([]byte, 4096)), FormatRaw))
	for _, c := range []struct {
		img  *Image
		want bool
	}{{iso, true}, {raw, false}} {
		bf, err := e.svc.BootFiles(context.Background(), projectA, c.img.ID)
		if err != nil {
			t.Fatal(err)
		}
		if bf.ISO != c.want || bf.DiskFormat != FormatRaw {
			t.Errorf("BootFiles of %s: ISO %v, format %s; want ISO %v, format raw", c.img.Name, bf.ISO, bf.DiskFormat, c.want)
		}
		if wantBus := map[bool]string{true: "scsi"}[c.want]; bf.CDROMBus != wantBus {
			t.Errorf("BootFiles of %s: cdrom bus %q, want %q", c.img.Name, bf.CDROMBus, wantBus)
		}
	}
}
