package compute

import (
	"context"
	"os"
	"strings"
	"testing"
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
