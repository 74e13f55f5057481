package compute

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"cloudlet/appliance/fault"
)

// snapshotHolder is a volume service whose volumes in held have a snapshot: it refuses their delete,
// from the call numbered refuseFrom on (0: always).
type snapshotHolder struct {
	held       []string
	refuseFrom int32
	calls      atomic.Int32
}

func (h *snapshotHolder) CheckDelete(_ context.Context, _, id string) error {
	n := h.calls.Add(1)
	if slices.Contains(h.held, id) && n > h.refuseFrom {
		return fault.New(fault.Conflict, "cannot delete volume %s: it has snapshot nightly; delete its snapshots first", id)
	}
	return nil
}

// Deleting an instance whose boot volume has a snapshot is refused before anything is touched: 409
// naming the snapshot; the instance runs on with its QEMU, ports and boot volume.
func TestDeletingAnInstanceWhoseBootVolumeHasASnapshotIsRefusedWholeBeforeAnythingIsTouched(t *testing.T) {
	holder := &snapshotHolder{}
	nets := newFakeNetworks()
	nets.addNetwork(testProject, "lan")
	e := newEnv(t, func(o *Options) { o.Networks, o.VolumeCheck = nets, holder })
	inst, err := e.createWith(CreateRequest{Name: "web", Networks: []string{"lan"}})
	if err != nil {
		t.Fatal(err)
	}
	inst = e.waitFor(inst.ID, VMActive, PowerRunning)
	holder.held = []string{inst.BootVolumeID}

	_, err = e.svc.Delete(context.Background(), testProject, inst.ID)
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "snapshot nightly") {
		t.Fatalf("delete: %v, want a conflict naming the snapshot", err)
	}
	assertUntouched(t, e, nets, inst)
}

// A snapshot taken between the API's check and the delete's run stops the delete just as early: the
// instance is as it was, with the reason as its fault, and the delete can be asked again.
func TestASnapshotTakenAfterTheDeleteWasAcceptedStillStopsItBeforeAnythingIsTouched(t *testing.T) {
	holder := &snapshotHolder{refuseFrom: 1} // the API's check passes, the supervisor's does not
	nets := newFakeNetworks()
	nets.addNetwork(testProject, "lan")
	e := newEnv(t, func(o *Options) { o.Networks, o.VolumeCheck = nets, holder })
	inst, err := e.createWith(CreateRequest{Name: "web", Networks: []string{"lan"}})
	if err != nil {
		t.Fatal(err)
	}
	inst = e.waitFor(inst.ID, VMActive, PowerRunning)
	holder.held = []string{inst.BootVolumeID}

	if _, err := e.svc.Delete(context.Background(), testProject, inst.ID); err != nil {
		t.Fatal(err)
	}
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if !strings.Contains(got.Fault, "snapshot nightly") {
		t.Errorf("fault %q: want the snapshot that stopped the delete", got.Fault)
	}
	assertUntouched(t, e, nets, inst)
}

func assertUntouched(t *testing.T, e *env, nets *fakeNetworks, inst *Instance) {
	t.Helper()
	got, err := e.svc.Get(context.Background(), testProject, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.VMState != VMActive || got.TaskState != TaskNone || got.PID != inst.PID {
		t.Errorf("instance %s/%q pid %d, want active, no task, pid %d", got.VMState, got.TaskState, got.PID, inst.PID)
	}
	if p := e.hv.proc(inst.ID); p.killed || p.srv.Status() != "running" {
		t.Errorf("QEMU killed %v, status %s: want it running on", p.killed, p.srv.Status())
	}
	for _, id := range inst.PortIDs {
		if p := nets.port(id); p == nil || p.device != inst.ID {
			t.Errorf("port %s released", id)
		}
	}
	vols, _ := e.vols.AttachedTo(context.Background(), inst.ID)
	if _, err := bootVolume(vols); err != nil || got.BootVolumeID != inst.BootVolumeID {
		t.Errorf("boot volume detached: %v (record %q)", err, got.BootVolumeID)
	}
}
