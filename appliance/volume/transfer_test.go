package volume

import (
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

func TestTransfer(t *testing.T) {
	e := newEnv(t)
	e.create(CreateRequest{Name: "data", ImageID: "img"})
	sn := e.snapshot("data", "snap")
	v := e.get("data") // the snapshot moved the active file
	id, key, err := e.svc.CreateTransfer(ctx, proj, "data")
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 || id == "" {
		t.Fatalf("transfer %q key %q", id, key)
	}
	got := e.get("data")
	if got.Transfer == nil || got.Transfer.ID != id || strings.Contains(got.Transfer.KeySHA256, key) {
		t.Fatalf("transfer record %+v", got.Transfer)
	}
	if _, _, err := e.svc.CreateTransfer(ctx, proj, "data"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("second transfer: %v", err)
	}
	if _, err := e.svc.Reserve(ctx, proj, "data", "inst-1"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("attach while a transfer is pending: %v", err)
	}

	_, err = e.svc.AcceptTransfer(ctx, other, id, "0123456789abcdef0123456789abcdef")
	wantKind(t, err, fault.Forbidden)
	_, err = e.svc.AcceptTransfer(ctx, other, "nope", key)
	wantKind(t, err, fault.NotFound)
	if got := e.get("data"); got.ProjectID != proj || got.Transfer == nil {
		t.Fatalf("after refused accepts: %+v", got)
	}

	moved, err := e.svc.AcceptTransfer(ctx, other, id, key)
	if err != nil {
		t.Fatal(err)
	}
	if moved.ProjectID != other || moved.Transfer != nil || moved.Path != v.Path {
		t.Fatalf("moved %+v", moved)
	}
	if _, err := e.svc.Get(ctx, proj, "data"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("the old project still sees it: %v", err)
	}
	if s, err := e.svc.Snapshot(ctx, other, "snap"); err != nil || s.ID != sn.ID {
		t.Errorf("snapshot did not move: %+v %v", s, err)
	}
	if _, err := e.svc.AcceptTransfer(ctx, other, id, key); fault.KindOf(err) != fault.NotFound {
		t.Errorf("a transfer accepted twice: %v", err)
	}
}

func TestTransferRefused(t *testing.T) {
	e := newEnv(t)
	e.create(CreateRequest{Name: "data", SizeGiB: 1})
	e.snapshot("data", "snap")
	// The other project has a snapshot with the same name: the accept must fail as a whole.
	if _, err := e.svc.Create(ctx, other, CreateRequest{Name: "mine", SizeGiB: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.createSnapshot(other, "mine", "snap"); err != nil {
		t.Fatal(err)
	}
	id, key, err := e.svc.CreateTransfer(ctx, proj, "data")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AcceptTransfer(ctx, other, id, key)
	wantKind(t, err, fault.Conflict)
	if got := e.get("data"); got.ProjectID != proj || got.Transfer == nil {
		t.Fatalf("after a clash: %+v", got)
	}
	if s, err := e.svc.Snapshot(ctx, proj, "snap"); err != nil || s.ProjectID != proj {
		t.Fatalf("snapshot after a clash: %+v %v", s, err)
	}
	// Volume name clash.
	if err := e.svc.CancelTransfer(ctx, proj, "data"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.CancelTransfer(ctx, proj, "data"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("cancel twice: %v", err)
	}
	if _, err := e.svc.AcceptTransfer(ctx, other, id, key); fault.KindOf(err) != fault.NotFound {
		t.Errorf("accept after cancel: %v", err)
	}
	if _, err := e.svc.Create(ctx, other, CreateRequest{Name: "data", SizeGiB: 1}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteSnapshot(ctx, other, "snap"); err != nil {
		t.Fatal(err)
	}
	id, key, err = e.svc.CreateTransfer(ctx, proj, "data")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AcceptTransfer(ctx, other, id, key)
	wantKind(t, err, fault.Conflict)

	// Only available volumes, and only self-contained ones.
	e.create(CreateRequest{Name: "busy", SizeGiB: 1})
	e.attach("busy", "inst-1", "vdb")
	if _, _, err := e.svc.CreateTransfer(ctx, proj, "busy"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("transfer of an in-use volume: %v", err)
	}
	e.create(CreateRequest{Name: "child", SnapshotID: "snap"})
	if err := e.svc.CancelTransfer(ctx, proj, "data"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"data", "child"} {
		if _, _, err := e.svc.CreateTransfer(ctx, proj, name); fault.KindOf(err) != fault.Conflict {
			t.Errorf("transfer of %s, which shares a chain: %v", name, err)
		}
	}
}
