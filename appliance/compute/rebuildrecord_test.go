package compute

import (
	"context"
	"os"
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
