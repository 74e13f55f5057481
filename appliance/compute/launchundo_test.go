package compute

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// A start that fails after it made the boot volume, when a snapshot has been begun on that volume
// meanwhile (its delete would be refused), keeps the volume attached and named by the instance instead
// of detaching it and failing to delete it: detached and refused, it was named by no one and the
// instance's delete left it behind. The delete then takes the instance and keeps the volume, saying why.
func TestAFailedStartKeepsABootVolumeItCannotDeleteAttachedAndNamedForTheDelete(t *testing.T) {
	holder := &snapshotHolder{held: []string{"vol-0001"}} // the boot volume the start makes
	e, nets := newHolderEnv(t, holder, true)
	qemuStep := slices.Index(stepNames(e.svc.steps), "qemu")
	e.svc.steps[qemuStep].do = func(*launch, context.Context) error { return errors.New("boom") }

	inst, err := e.createWith(CreateRequest{Name: "web", Networks: []string{"lan"}})
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitFor(inst.ID, VMError, PowerNoState)
	if got.BootVolumeID != "vol-0001" {
		t.Fatalf("after the failed start the record names boot volume %q, want vol-0001", got.BootVolumeID)
	}
	vols, err := e.vols.AttachedTo(context.Background(), inst.ID)
	if err != nil || len(vols) != 1 || vols[0].ID != "vol-0001" || !vols[0].Boot {
		t.Fatalf("volumes attached after the failed start: %+v, %v; want vol-0001 as the boot volume", vols, err)
	}

	if _, err := e.svc.Delete(context.Background(), testProject, inst.ID); err != nil {
		t.Fatal(err)
	}
	assertDeletedKeepingBoot(t, e, nets, got)
}
