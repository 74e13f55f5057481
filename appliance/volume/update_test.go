package volume

import (
	"maps"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

func TestUpdateRenamesDescribesAndReplacesMetadata(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1, Description: "first", Metadata: map[string]string{"a": "b"}})
	if v.Description != "first" || !maps.Equal(v.Metadata, map[string]string{"a": "b"}) {
		t.Fatalf("created %+v, want the description and metadata given", v)
	}
	name, desc := "logs", "second"
	got, err := e.svc.Update(ctx, proj, "data", UpdateRequest{Name: &name, Description: &desc})
	if err != nil || got.Name != "logs" || got.Description != "second" || !maps.Equal(got.Metadata, map[string]string{"a": "b"}) {
		t.Fatalf("rename = %+v, %v; want logs, second, metadata kept", got, err)
	}
	got, err = e.svc.Update(ctx, proj, v.ID, UpdateRequest{Metadata: map[string]string{"c": "d"}})
	if err != nil || got.Name != "logs" || !maps.Equal(got.Metadata, map[string]string{"c": "d"}) {
		t.Fatalf("set metadata = %+v, %v; want the set replaced, the name kept", got, err)
	}
	if stored := e.get("logs"); stored.Description != "second" || stored.Metadata["c"] != "d" {
		t.Errorf("stored %+v", stored)
	}
	if got := strings.Join(e.events(v.ID), " "); !strings.HasSuffix(got, "volume.updated volume.updated") {
		t.Errorf("events %s, want two volume.updated", got)
	}
}

func TestUpdateRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	e.create(CreateRequest{Name: "data", SizeGiB: 1})
	e.create(CreateRequest{Name: "taken", SizeGiB: 1})
	bad, taken, long := "no/slash", "taken", strings.Repeat("x", 256)
	for _, tc := range []struct {
		name string
		r    UpdateRequest
		kind fault.Kind
	}{
		{"an invalid name", UpdateRequest{Name: &bad}, fault.Invalid},
		{"a name in use", UpdateRequest{Name: &taken}, fault.Conflict},
		{"a long description", UpdateRequest{Description: &long}, fault.Invalid},
		{"a long metadata value", UpdateRequest{Metadata: map[string]string{"k": long}}, fault.Invalid},
		{"an empty metadata key", UpdateRequest{Metadata: map[string]string{"": "v"}}, fault.Invalid},
	} {
		if _, err := e.svc.Update(ctx, proj, "data", tc.r); fault.KindOf(err) != tc.kind {
			t.Errorf("%s: %v, want kind %v", tc.name, err, tc.kind)
		}
	}
	if _, err := e.svc.Update(ctx, other, "data", UpdateRequest{Description: &taken}); fault.KindOf(err) != fault.NotFound {
		t.Errorf("another project's volume: %v, want not found", err)
	}
	if _, err := e.svc.Create(ctx, proj, CreateRequest{Name: "d2", SizeGiB: 1, Description: long}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("create with a long description: %v, want invalid", err)
	}
}

func TestUpdateSnapshotRenamesAndDescribes(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	sn := e.snapshot(v.ID, "before")
	e.snapshot(v.ID, "taken")
	name, desc, bad := "after", "the first", "no/slash"
	got, err := e.svc.UpdateSnapshot(ctx, proj, "before", SnapshotUpdate{Name: &name, Description: &desc})
	if err != nil || got.ID != sn.ID || got.Name != "after" || got.Description != "the first" {
		t.Fatalf("update = %+v, %v", got, err)
	}
	if stored, err := e.svc.Snapshot(ctx, proj, sn.ID); err != nil || stored.Name != "after" || stored.Description != "the first" {
		t.Errorf("stored %+v, %v", stored, err)
	}
	taken := "taken"
	for _, tc := range []struct {
		name string
		r    SnapshotUpdate
		kind fault.Kind
	}{
		{"an invalid name", SnapshotUpdate{Name: &bad}, fault.Invalid},
		{"a name in use", SnapshotUpdate{Name: &taken}, fault.Conflict},
	} {
		if _, err := e.svc.UpdateSnapshot(ctx, proj, sn.ID, tc.r); fault.KindOf(err) != tc.kind {
			t.Errorf("%s: %v, want kind %v", tc.name, err, tc.kind)
		}
	}
	if _, err := e.svc.UpdateSnapshot(ctx, other, sn.ID, SnapshotUpdate{Name: &name}); fault.KindOf(err) != fault.NotFound {
		t.Errorf("another project's snapshot: %v, want not found", err)
	}
}
