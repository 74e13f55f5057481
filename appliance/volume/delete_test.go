package volume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

func TestDelete(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", ImageID: "img"})
	if err := e.svc.Delete(ctx, proj, "data"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(v.Path)); !os.IsNotExist(err) {
		t.Errorf("volume directory still there: %v", err)
	}
	if _, err := e.svc.Get(ctx, proj, v.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("record still there: %v", err)
	}
	if _, err := os.Stat(e.img.Path); err != nil {
		t.Errorf("the image went with the volume: %v", err)
	}
	if got := strings.Join(e.events(v.ID), " "); got != "volume.created volume.state volume.state volume.deleted" {
		t.Errorf("events %s", got)
	}
	wantKind(t, e.svc.Delete(ctx, proj, "data"), fault.NotFound)
}

func TestDeleteRefused(t *testing.T) {
	e := newEnv(t)
	e.create(CreateRequest{Name: "attached", SizeGiB: 1})
	e.attach("attached", "inst-1", "vdb")
	e.create(CreateRequest{Name: "reserved", SizeGiB: 1})
	if _, err := e.svc.Reserve(ctx, proj, "reserved", "inst-2"); err != nil {
		t.Fatal(err)
	}
	e.create(CreateRequest{Name: "snapped", SizeGiB: 1})
	sn := e.snapshot("snapped", "keep")
	e.create(CreateRequest{Name: "base", SizeGiB: 1})
	e.snapshot("base", "basesnap")
	dep := e.create(CreateRequest{Name: "dependent", SnapshotID: "basesnap"})
	for _, tc := range []struct {
		volume, mention string
	}{
		{"attached", "instance inst-1"},
		{"reserved", "instance inst-2"},
		{"snapped", "snapshot keep (" + sn.ID + ")"},
		{"base", "volume dependent (" + dep.ID + ")"},
	} {
		t.Run(tc.volume, func(t *testing.T) {
			v := e.get(tc.volume)
			err := e.svc.Delete(ctx, proj, tc.volume)
			wantKind(t, err, fault.Conflict)
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("refusal %q does not mention %s", err, tc.mention)
			}
			if _, err := os.Stat(v.Path); err != nil {
				t.Errorf("file gone: %v", err)
			}
			if got := e.get(tc.volume); got.Status != v.Status {
				t.Errorf("status %s, was %s", got.Status, v.Status)
			}
		})
	}
	// Once the dependent volume and the snapshots go, the base can go too.
	for _, step := range []func() error{
		func() error { return e.svc.Delete(ctx, proj, "dependent") },
		func() error { return e.svc.DeleteSnapshot(ctx, proj, "basesnap") },
		func() error { return e.svc.Delete(ctx, proj, "base") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}
