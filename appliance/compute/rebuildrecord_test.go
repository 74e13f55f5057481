package compute

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"cloudlet/appliance/fault"
)

// Found by the crash-cycle harness: a rebuild deleted the old boot volume before it made the new one,
// and recorded the new one only at the end; when the new one could not be made (or the daemon died in
// between) the record still named the deleted volume, and every later rebuild failed on it. The record
// follows each step: a failed rebuild names no deleted volume, and the next rebuild succeeds.
func TestRebuildThatCannotMakeItsNewDiskNamesNoDeletedVolumeAndCanBeRetried(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	if err := os.Rename(e.vols.base, e.vols.base+".away"); err != nil { // no new overlay can be made
		t.Fatal(err)
	}
	e.act(inst.ID, ActRebuild)
	failed := e.waitFor(inst.ID, VMError, PowerShutdown)
	if _, err := e.vols.Get(context.Background(), "", failed.BootVolumeID); failed.BootVolumeID != "" && err != nil {
		t.Errorf("the failed rebuild names boot volume %s: %v", failed.BootVolumeID, err)
	}
	if err := os.Rename(e.vols.base+".away", e.vols.base); err != nil {
		t.Fatal(err)
	}

	e.act(inst.ID, ActRebuild)
	got := e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if _, err := e.vols.Get(context.Background(), "", got.BootVolumeID); got.BootVolumeID == "" || err != nil {
		t.Errorf("the retried rebuild names boot volume %q: %v", got.BootVolumeID, err)
	}
}

// Found by the crash-cycle harness: a rebuild of an instance whose boot volume has a snapshot failed
// on the old volume's refused delete, leaving it detached and available with no trace of why. The
// rebuild keeps it as a delete does (detached, with its snapshot, an instance.volume_kept event saying
// why) and goes on with a new boot volume.
func TestRebuildOfAnInstanceWhoseBootVolumeHasASnapshotKeepsTheOldVolumeAndSaysWhy(t *testing.T) {
	holder := &snapshotHolder{}
	e, _ := newHolderEnv(t, holder, true)
	inst := e.runningOn("web")
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	holder.held = []string{inst.BootVolumeID}

	e.act(inst.ID, ActRebuild)
	got := e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if got.BootVolumeID == "" || got.BootVolumeID == inst.BootVolumeID || got.Fault != "" {
		t.Errorf("boot volume %q (was %q), fault %q: want a new one and no fault", got.BootVolumeID, inst.BootVolumeID, got.Fault)
	}
	old, err := e.vols.Get(context.Background(), testProject, inst.BootVolumeID)
	if err != nil || old.InstanceID != "" {
		t.Errorf("old boot volume %+v, %v: want it kept and detached", old, err)
	}
	if evs := e.events(inst.ID); !contains(evs, "instance.volume_kept") || !contains(evs, "kept: it has snapshot nightly") {
		t.Errorf("events %v: want an instance.volume_kept saying why", evs)
	}
}

// Found by the crash-cycle harness: a rebuild whose old boot volume had a task running on it (a
// snapshot being taken) forgot and detached the volume before its delete was refused, leaving it
// detached and named by no one (a later delete of the instance left it behind). The rebuild is refused
// before anything is touched; the old volume stays the instance's, and a rebuild once the task has
// ended replaces it.
func TestRebuildWhileATaskRunsOnTheBootVolumeTouchesNothingAndCanBeRetried(t *testing.T) {
	holder := &snapshotHolder{}
	e, _ := newHolderEnv(t, holder, false)
	inst := e.runningOn("web")
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	holder.busy = []string{inst.BootVolumeID}

	e.act(inst.ID, ActRebuild)
	failed := e.waitFor(inst.ID, VMError, PowerShutdown)
	if failed.BootVolumeID != inst.BootVolumeID || !strings.Contains(failed.Fault, "a snapshot runs on it") {
		t.Errorf("boot volume %q (was %q), fault %q: want the old one kept and the task named", failed.BootVolumeID, inst.BootVolumeID, failed.Fault)
	}
	if v, err := e.vols.Get(context.Background(), testProject, inst.BootVolumeID); err != nil || v.InstanceID != inst.ID {
		t.Errorf("old boot volume %+v, %v: want it still attached to the instance", v, err)
	}

	holder.busy = nil
	e.act(inst.ID, ActRebuild)
	if got := e.waitFor(inst.ID, VMStopped, PowerShutdown); got.BootVolumeID == inst.BootVolumeID {
		t.Errorf("the retried rebuild kept boot volume %s", got.BootVolumeID)
	}
}

// A rebuild cut short after it detached the old boot volume and before that volume was deleted (here
// the delete fails; the crash point compute.rebuild-old-detached is the same moment in a kill) left it
// detached and named by no one: a later delete of the instance left it behind. The record names it as
// the volume being replaced, and the next rebuild, or the instance's delete, deletes it.
func TestABootVolumeARebuildDetachedButDidNotDeleteIsDeletedByTheNextRebuildOrTheDelete(t *testing.T) {
	for _, then := range []Action{ActRebuild, ActDelete} {
		t.Run(string(then), func(t *testing.T) {
			failing := &failingDeletes{}
			e := newEnv(t, func(o *Options) {
				failing.fakeVolumes = o.Volumes.(*fakeVolumes)
				o.Volumes = failing
			})
			inst := e.running("web")
			e.act(inst.ID, ActStop)
			e.waitFor(inst.ID, VMStopped, PowerShutdown)
			failing.fail.Store(inst.BootVolumeID)

			e.act(inst.ID, ActRebuild)
			failed := e.waitFor(inst.ID, VMError, PowerShutdown)
			if failed.BootVolumeID != "" || failed.ReplacedBootVolumeID != inst.BootVolumeID {
				t.Fatalf("after the failed delete: boot %q, replaced %q; want none and %s", failed.BootVolumeID, failed.ReplacedBootVolumeID, inst.BootVolumeID)
			}
			failing.fail.Store("")

			e.act(inst.ID, then)
			if then == ActDelete {
				waitGoneUnit(t, e, inst.ID)
			} else if got := e.waitFor(inst.ID, VMStopped, PowerShutdown); got.BootVolumeID == "" || got.ReplacedBootVolumeID != "" {
				t.Errorf("after the retried rebuild: boot %q, replaced %q; want a new one and none", got.BootVolumeID, got.ReplacedBootVolumeID)
			}
			if _, err := e.vols.Get(context.Background(), testProject, inst.BootVolumeID); fault.KindOf(err) != fault.NotFound {
				t.Errorf("the replaced boot volume after the %s: %v, want it deleted", then, err)
			}
		})
	}
}

// failingDeletes is the fake volume service whose Delete fails, as a disk error would, for the volume
// named in fail.
type failingDeletes struct {
	*fakeVolumes
	fail atomic.Value // string
}

func (f *failingDeletes) Delete(ctx context.Context, projectID, id string) error {
	if s, _ := f.fail.Load().(string); s == id {
		return errors.New("remove volume files: input/output error")
	}
	return f.fakeVolumes.Delete(ctx, projectID, id)
}

// Found by the crash-cycle harness: a rebuild killed after it made and attached the new boot volume
// but before it recorded it left the instance with a boot volume its record does not name. The next
// rebuild deletes that one like the old one: the instance ends with one boot volume, the one it names.
func TestABootVolumeAnInterruptedRebuildMadeButDidNotRecordIsDeletedByTheNextRebuild(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	e.act(inst.ID, ActStop)
	stopped := e.waitFor(inst.ID, VMStopped, PowerShutdown)
	ctx := context.Background()
	stray, err := e.vols.CreateBoot(ctx, BootVolumeRequest{ProjectID: testProject, InstanceID: inst.ID, Name: "root-" + inst.ID[:8], Image: stopped.ImageID})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.vols.Attached(ctx, stray.ID, "", true, true); err != nil {
		t.Fatal(err)
	}

	e.act(inst.ID, ActRebuild)
	got := e.waitFor(inst.ID, VMStopped, PowerShutdown)
	vols, _ := e.vols.AttachedTo(ctx, inst.ID)
	if len(vols) != 1 || vols[0].ID != got.BootVolumeID || got.ReplacedBootVolumeID != "" {
		t.Errorf("after the rebuild: attached %+v, boot %q, replaced %q; want only the recorded boot volume", vols, got.BootVolumeID, got.ReplacedBootVolumeID)
	}
	if _, err := e.vols.Get(ctx, testProject, stray.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("the unrecorded boot volume: %v, want it deleted", err)
	}
}
