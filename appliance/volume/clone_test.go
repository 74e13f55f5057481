package volume

import (
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// The volume service never reaches QEMU, so it does not clone an in-use volume by itself (409,
// nothing left behind); its caller drives the clone in steps, the snapshot taken in the running
// QEMU, and the clone records its source volume as before.
func TestCloneOfAnInUseVolumeIsDrivenByItsCaller(t *testing.T) {
	e := newEnv(t)
	src := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	e.attach("data", "inst-1", "vdb")
	req := CreateRequest{Name: "copy", VolumeID: "data"}
	_, err := e.svc.Create(ctx, proj, req)
	wantKind(t, err, fault.Conflict)
	if sns, err := e.svc.Snapshots(ctx, proj, "data"); err != nil || len(sns) != 0 {
		t.Fatalf("a refused clone left snapshots %v (%v)", sns, err)
	}

	c, err := e.svc.PlanClone(ctx, proj, req)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := e.createSnapshot(proj, c.Source, c.SnapshotName)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.svc.CloneFrom(ctx, proj, c, sn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Source.VolumeID != src.ID || v.Source.SnapshotID != sn.ID || v.Status != StatusAvailable {
		t.Errorf("clone %+v, want available with source volume %s and snapshot %s", v, src.ID, sn.ID)
	}
	if calls := e.live.Calls(); len(calls) != 1 || !strings.HasPrefix(calls[0], "snapshot inst-1 "+src.ID) {
		t.Errorf("live calls %v, want the snapshot of the source in its instance", calls)
	}
}
