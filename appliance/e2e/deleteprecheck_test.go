package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// Deleting an instance whose boot volume has a snapshot is refused whole, before anything is touched:
// 409 naming the snapshot, and the instance runs on with its QEMU, ports and boot volume.
func TestDeletingAnInstanceWhoseBootVolumeHasASnapshotIsRefusedBeforeAnythingIsTouched(t *testing.T) {
	c := newCloud(t, "")
	inst := c.create("keeper", diskImage, nil)
	inst = c.waitState(inst.ID, compute.VMActive, compute.PowerRunning, bootWait)
	if err := c.do("POST", "/api/v1/volumes/"+inst.BootVolumeID+"/snapshots", map[string]any{"name": "nightly"}, nil); err != nil {
		t.Fatal(err)
	}

	err := c.do("DELETE", "/api/v1/instances/"+inst.ID, nil, nil)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Code != 409 || !strings.Contains(apiErr.Message, "nightly") {
		t.Fatalf("delete: %v, want 409 naming the snapshot", err)
	}
	got := c.waitState(inst.ID, compute.VMActive, compute.PowerRunning, 10*time.Second)
	if got.PID != inst.PID || got.BootVolumeID != inst.BootVolumeID || strings.Join(got.PortIDs, ",") != strings.Join(inst.PortIDs, ",") {
		t.Errorf("after the refused delete: pid %d, boot volume %q, ports %v; want %d, %q, %v as before",
			got.PID, got.BootVolumeID, got.PortIDs, inst.PID, inst.BootVolumeID, inst.PortIDs)
	}
	if v := c.volume(inst.BootVolumeID); v.Status != "in-use" {
		t.Errorf("boot volume is %s after the refused delete, want in-use", v.Status)
	}

}
