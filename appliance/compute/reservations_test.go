package compute

import (
	"context"
	"testing"
)

// A daemon killed between a volume's reserve and its attach leaves the volume reserved for the
// instance; deleting the instance gives it back (and still deletes the boot volume made for it).
func TestDeleteGivesBackVolumesReservedForTheInstance(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	data := e.vols.add("data")
	if _, err := e.vols.Reserve(context.Background(), testProject, data.ID, inst.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Delete(context.Background(), testProject, inst.ID); err != nil {
		t.Fatal(err)
	}
	waitGoneUnit(t, e, inst.ID)
	got, err := e.vols.Get(context.Background(), "", data.ID)
	if err != nil {
		t.Fatalf("the reserved data volume went with the instance: %v", err)
	}
	if got.InstanceID != "" {
		t.Errorf("data volume still reserved for deleted instance %s", got.InstanceID)
	}
	if n := e.vols.count(); n != 1 {
		t.Errorf("%d volumes left, want only the data volume (the boot volume goes with the instance)", n)
	}
}

// At start no attach is in flight, so a reservation left by a killed daemon is given back: one for an
// instance that still exists, one for an instance that is gone. The boot volume being made for an
// instance stays reserved for it.
func TestRestartGivesBackReservationsNoAttachIsWaitingFor(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	ctx := context.Background()
	pending, orphan := e.vols.add("pending"), e.vols.add("orphan")
	if _, err := e.vols.Reserve(ctx, testProject, pending.ID, inst.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.vols.Reserve(ctx, testProject, orphan.ID, "0b6f2c1e-0000-4000-8000-000000000000"); err != nil {
		t.Fatal(err)
	}
	boot, err := e.vols.CreateBoot(ctx, BootVolumeRequest{ProjectID: testProject, InstanceID: inst.ID, Name: "root-x", Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Close()

	e.start()
	e.waitFor(inst.ID, VMActive, PowerRunning)
	for _, v := range []Volume{pending, orphan} {
		if got, _ := e.vols.Get(ctx, "", v.ID); got.InstanceID != "" {
			t.Errorf("volume %s still reserved for %s after a restart", v.Name, got.InstanceID)
		}
	}
	if got, _ := e.vols.Get(ctx, "", boot.ID); got.InstanceID != inst.ID {
		t.Errorf("boot volume reserved for its instance was given away: instance %q", got.InstanceID)
	}
}
