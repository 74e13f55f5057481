package e2e

import (
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// Deleting an instance whose boot volume has a snapshot deletes the instance, as Nova does (a boot
// volume cannot be detached and the snapshot's delete is refused while its volume is attached, so a
// refusal would leave it undeletable): its QEMU and ports go, the boot volume stays available with its
// snapshot, the instance's event log says why, and deleting the snapshot and then the volume works.
func TestDeletingAnInstanceWhoseBootVolumeHasASnapshotKeepsTheVolumeWithItsSnapshot(t *testing.T) {
	c := newCloud(t, "")
	inst := c.Create("keeper", diskImage, nil)
	inst = c.WaitState(inst.ID, compute.VMActive, compute.PowerRunning, bootWait)
	var snap struct{ ID string }
	if err := c.Do("POST", "/api/v1/volumes/"+inst.BootVolumeID+"/snapshots", map[string]any{"name": "nightly"}, &snap); err != nil {
		t.Fatal(err)
	}

	c.DeleteAndWait(inst.ID)
	if qemuStart(inst.PID) != "" {
		t.Errorf("QEMU %d still runs after the delete", inst.PID)
	}
	for _, id := range inst.PortIDs {
		if !isNotFound(c.Do("GET", "/api/v1/ports/"+id, nil, nil)) {
			t.Errorf("port %s outlived the instance", id)
		}
	}
	if v := c.volume(inst.BootVolumeID); v.Status != "available" || v.Attachment != nil {
		t.Errorf("boot volume %s, attachment %v: want it kept, available", v.Status, v.Attachment)
	}
	if err := c.Do("GET", "/api/v1/snapshots/"+snap.ID, nil, nil); err != nil {
		t.Errorf("the snapshot went with the instance: %v", err)
	}
	if msg := keptMessage(t, c, inst.ID); !strings.Contains(msg, "boot volume") || !strings.Contains(msg, "nightly") {
		t.Errorf("instance.volume_kept message %q: want the boot volume and its snapshot named", msg)
	}

	if err := c.Do("DELETE", "/api/v1/snapshots/"+snap.ID, nil, nil); err != nil {
		t.Fatalf("delete the snapshot of the kept volume: %v", err)
	}
	waitNotFound(t, c, "/api/v1/snapshots/"+snap.ID)
	if err := c.Do("DELETE", "/api/v1/volumes/"+inst.BootVolumeID, nil, nil); err != nil {
		t.Fatalf("delete the kept volume once its snapshot is gone: %v", err)
	}
	waitNotFound(t, c, "/api/v1/volumes/"+inst.BootVolumeID)
}

// keptMessage is the message of the instance.volume_kept event about instance id.
func keptMessage(t *testing.T, c *Cloud, id string) string {
	t.Helper()
	var events []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			Message string `json:"message"`
		} `json:"data"`
	}
	if err := c.Do("GET", "/api/v1/events?since=0&limit=5000", nil, &events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.ID == id && e.Type == "instance.volume_kept" {
			return e.Data.Message
		}
	}
	t.Fatalf("no instance.volume_kept event about %s", id)
	return ""
}

// waitNotFound waits until GET path answers 404.
func waitNotFound(t *testing.T, c *Cloud, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if isNotFound(c.Do("GET", path, nil, nil)) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s still there after 30s", path)
}
