package images

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"cloudlet/store"
)

// holder stands for the volume service's records (images never imports it): a volume or a
// snapshot that holds the image its chain is based on, written through store as the volume
// service writes its own.
type holder struct {
	store.Meta
	Image string `json:"base_image_id,omitempty"`
}

func holdsImage(h *holder) []store.Ref {
	if h.Image == "" {
		return nil
	}
	return []store.Ref{{Bucket: store.BucketImages, ID: h.Image}}
}

var (
	testVolumes   = store.NewKind[holder](store.BucketVolumes, store.ScopeProject).Holding(holdsImage)
	testSnapshots = store.NewKind[holder](store.BucketSnapshots, store.ScopeProject).Holding(holdsImage)
)

// hold records a volume (or a snapshot) of project on img, as the volume service does, and
// returns its ID.
func (e *env) hold(kind store.Kind[holder, *holder], project, name string, img *Image) (string, error) {
	h := &holder{Meta: store.Meta{Name: name, ProjectID: project}, Image: img.ID}
	err := e.db.Update(func(tx *store.Tx) error { return kind.Create(tx, h) })
	return h.ID, err
}

func (e *env) mustHold(kind store.Kind[holder, *holder], project, name string, img *Image) string {
	e.t.Helper()
	id, err := e.hold(kind, project, name, img)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// The race the API layer's check left open: a volume made from the image after anyone asked
// whether it was in use. Delete itself, with nobody asking first, refuses the image in the
// transaction that would mark it deleted, naming the volume to its owner, and the image and its
// files stay; once the volume is gone the delete goes through.
func TestDeleteRefusesAnImageAVolumeMadeJustBeforeHoldsAndNamesIt(t *testing.T) {
	e := newEnv(t)
	img := e.importIn(projectA, "gold", VisibilityPrivate)
	id := e.mustHold(testVolumes, projectA, "web-root", img)
	err := e.svc.Delete(context.Background(), projectA, "gold")
	if !errors.Is(err, ErrInUse) || err.Error() != "image gold is used by volume web-root ("+id+")" {
		t.Fatalf("delete of a held image: %v, want ErrInUse naming volume web-root", err)
	}
	if got, err := e.svc.Get(context.Background(), projectA, "gold"); err != nil || got.Status != StatusActive {
		t.Fatalf("the refused image: %+v, %v; want it active", got, err)
	}
	if _, err := os.Stat(e.svc.file(img.ID, fileDisk)); err != nil {
		t.Fatalf("the refused image's disk: %v", err)
	}
	if err := e.db.Update(func(tx *store.Tx) error { return testVolumes.Delete(tx, id) }); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(context.Background(), projectA, "gold"); err != nil {
		t.Fatalf("delete once the volume is gone: %v", err)
	}
	if _, err := e.hold(testVolumes, projectA, "late", img); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a volume on the deleted image: %v, want not found", err)
	}
}

// Probe 14: a volume is named before a snapshot (the volume is what the owner deletes first); another
// project's volume on a public image is never named, only that another project has one.
func TestProbe14DeleteOfAHeldImageNamesTheOwnersVolumeFirstAndNeverAnotherProjects(t *testing.T) {
	e := newEnv(t)
	img := e.importIn(projectA, "gold", VisibilityPublic)
	secret := e.mustHold(testVolumes, projectB, "secret-name", img)
	err := e.svc.Delete(context.Background(), projectA, "gold")
	if !errors.Is(err, ErrInUse) || !strings.HasSuffix(err.Error(), "is used by a volume of another project") {
		t.Errorf("delete of an image another project's volume holds: %v", err)
	}
	if err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "secret-name")) {
		t.Errorf("the refusal names another project's volume: %v", err)
	}
	if err := e.db.Update(func(tx *store.Tx) error { return testVolumes.Delete(tx, secret) }); err != nil {
		t.Fatal(err)
	}
	e.mustHold(testSnapshots, projectA, "snap", img)
	id := e.mustHold(testVolumes, projectA, "web-root", img)
	if err := e.svc.Delete(context.Background(), projectA, "gold"); err == nil || !strings.HasSuffix(err.Error(), "volume web-root ("+id+")") {
		t.Errorf("delete of an image a snapshot and a volume hold: %v, want the volume named", err)
	}
}
