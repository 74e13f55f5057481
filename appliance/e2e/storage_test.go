package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// rawRequest sends body as is (not JSON) over the loopback API and fails the test unless it gets want.
func rawRequest(t *testing.T, c *Cloud, method, path, contentType string, body []byte, want int) string {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+c.D.Listen+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out.String(), want)
	}
	return out.String()
}

// uploadImage creates an image record and streams data into it.
func uploadImage(t *testing.T, c *Cloud, name string, record map[string]any, data []byte) {
	t.Helper()
	record["name"] = name
	var img struct{ ID string }
	if err := c.Do("POST", "/api/v1/images", record, &img); err != nil {
		t.Fatalf("create image %s: %v", name, err)
	}
	rawRequest(t, c, "PUT", "/api/v1/images/"+img.ID+"/file", "application/octet-stream", data, http.StatusOK)
}

type volumeView struct {
	ID, Name, Status, Path string
	Attachment             *struct {
		InstanceID string `json:"instance_id"`
		Device     string
	}
}

func (c *Cloud) volume(ref string) volumeView {
	c.T.Helper()
	var v volumeView
	if err := c.Do("GET", "/api/v1/volumes/"+ref, nil, &v); err != nil {
		c.T.Fatalf("show volume %s: %v", ref, err)
	}
	return v
}

// diskMarker waits for the n-th CLOUDLET-GUEST-DISK line starting with prefix on the instance's console.
func diskMarker(t *testing.T, c *Cloud, id, prefix string, n int) string {
	t.Helper()
	marker := "CLOUDLET-GUEST-DISK " + prefix
	log := c.WaitConsole(id, marker, n, 60*time.Second)
	var found []string
	for _, line := range strings.Split(log, "\n") {
		if i := strings.Index(line, marker); i >= 0 {
			found = append(found, strings.TrimSpace(line[i:]))
		}
	}
	return found[n-1]
}

// The storage issue's end-to-end path: an uploaded image boots; a volume is hot-plugged into a running
// guest that writes to it, extended online, snapshotted live, moved to a second guest that reads the
// data back, and reverted to the snapshot after its data was wiped.
func TestVolumeLifecycleAcrossGuests(t *testing.T) {
	c := newCloud(t, "")
	disk, err := os.ReadFile(GuestPaths(t).Disk)
	if err != nil {
		t.Fatal(err)
	}
	uploadImage(t, c, "uploaded", map[string]any{"disk_format": "qcow2"}, disk)
	a := c.Create("a", "uploaded", nil).ID
	b := c.Create("b", "uploaded", nil).ID
	c.WaitConsole(a, ready, 1, bootWait)
	c.WaitConsole(b, ready, 1, bootWait)

	var vol volumeView
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "data", "size_gib": 1}, &vol); err != nil {
		t.Fatal(err)
	}
	attach := func(inst string) {
		t.Helper()
		if err := c.Do("POST", "/api/v1/volumes/data/attach", map[string]any{"instance": inst}, nil); err != nil {
			t.Fatalf("attach data to %s: %v", inst, err)
		}
	}
	detach := func() {
		t.Helper()
		if err := c.Do("POST", "/api/v1/volumes/data/detach", nil, nil); err != nil {
			t.Fatalf("detach data: %v", err)
		}
	}
	attach(a)
	added := diskMarker(t, c, a, "added", 1)
	dev := strings.Fields(strings.TrimPrefix(added, "CLOUDLET-GUEST-DISK added dev="))[0]
	if !strings.HasSuffix(added, "size=1073741824") {
		t.Errorf("guest saw %q, want a 1 GiB disk", added)
	}
	canary := strings.TrimPrefix(diskMarker(t, c, a, "wrote", 1), "CLOUDLET-GUEST-DISK wrote dev="+dev+" text=")

	if err := c.Do("POST", "/api/v1/volumes/data/extend", map[string]any{"size_gib": 2}, nil); err != nil {
		t.Fatalf("extend online: %v", err)
	}
	if got := diskMarker(t, c, a, "resized", 1); !strings.HasSuffix(got, "size=2147483648") {
		t.Errorf("after an online extend the guest saw %q", got)
	}
	if err := c.Do("POST", "/api/v1/volumes/data/snapshots", map[string]any{"name": "s1"}, nil); err != nil {
		t.Fatalf("live snapshot: %v", err)
	}
	detach()
	diskMarker(t, c, a, "removed", 1)

	attach(b)
	if got := diskMarker(t, c, b, "data", 1); !strings.HasSuffix(got, "text="+canary) {
		t.Errorf("second guest read %q, want the first guest's %q", got, canary)
	}
	detach()
	diskMarker(t, c, b, "removed", 1)

	// Wipe the canary in the volume's active file, then revert: the snapshot's data comes back.
	wipe := exec.Command("qemu-io", "-f", "qcow2", "-c", "write -z 0 64k", c.volume("data").Path)
	if out, err := wipe.CombinedOutput(); err != nil {
		t.Fatalf("qemu-io: %v: %s", err, out)
	}
	if err := c.Do("POST", "/api/v1/volumes/data/revert", map[string]any{"snapshot": "s1"}, nil); err != nil {
		t.Fatalf("revert: %v", err)
	}
	attach(a)
	if got := diskMarker(t, c, a, "data", 1); !strings.HasSuffix(got, "text="+canary) {
		t.Errorf("after revert the guest read %q, want %q", got, canary)
	}
	if v := c.volume("data"); v.Status != "in-use" || v.Attachment == nil || v.Attachment.InstanceID != a {
		t.Errorf("volume %+v, want in-use by instance a", v)
	}
}

// An OVA (OVF + streamOptimized VMDK, as appliances ship) imports through the upload path and boots.
func TestOVAImportBoots(t *testing.T) {
	c := newCloud(t, "")
	vmdk := filepath.Join(t.TempDir(), "disk1.vmdk")
	conv := exec.Command("qemu-img", "convert", "-f", "qcow2", "-O", "vmdk", "-o", "subformat=streamOptimized", GuestPaths(t).Disk, vmdk)
	if out, err := conv.CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v: %s", err, out)
	}
	data, err := os.ReadFile(vmdk)
	if err != nil {
		t.Fatal(err)
	}
	ova := makeOVA(t, map[string][]byte{"appliance.ovf": applianceOVF("disk1.vmdk", 1, 256), "disk1.vmdk": data})
	uploadImage(t, c, "appliance", map[string]any{"disk_format": "vmdk", "container_format": "ova"}, ova)
	var img struct {
		Status     string
		DiskFormat string `json:"disk_format"`
		MinRAMMiB  int    `json:"min_ram_mib"`
	}
	if err := c.Do("GET", "/api/v1/images/appliance", nil, &img); err != nil {
		t.Fatal(err)
	}
	if img.DiskFormat != "qcow2" || img.MinRAMMiB != 256 {
		t.Errorf("OVA image: format %s, min RAM %d; want qcow2 (converted) and the OVF's 256 MiB", img.DiskFormat, img.MinRAMMiB)
	}
	id := c.Create("ova", "appliance", nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
}

// makeOVA writes a tar with the OVF first, as the OVF standard requires.
func makeOVA(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := []string{"appliance.ovf"}
	for n := range files {
		if n != "appliance.ovf" {
			names = append(names, n)
		}
	}
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// applianceOVF is a minimal OVF 1.0 descriptor with one streamOptimized disk.
func applianceOVF(href string, vcpus, ramMiB int) []byte {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope ovf:version="1.0" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
  <References><File ovf:id="file1" ovf:href="%s"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:capacity="64" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"
    ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <VirtualSystem ovf:id="appliance"><Info>vm</Info><VirtualHardwareSection><Info>hw</Info>
    <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>%d</rasd:VirtualQuantity></Item>
    <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>%d</rasd:VirtualQuantity></Item>
    <Item><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>10</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>
  </VirtualHardwareSection></VirtualSystem>
</Envelope>
`, href, vcpus, ramMiB))
}

// An instance boots from an existing volume (made from an image), which outlives the instance; I/O limits
// apply to a running guest's volume through QMP.
func TestBootFromVolumeAndLiveQoS(t *testing.T) {
	c := newCloud(t, "")
	var vol volumeView
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "bootable", "image": diskImage, "size_gib": 1}, &vol); err != nil {
		t.Fatal(err)
	}
	id := c.Create("fromvol", "", map[string]any{"image": "", "boot_volume": "bootable"}).ID
	c.WaitConsole(id, ready, 1, bootWait)
	inst := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
	if !inst.BootFromVolume || inst.BootVolumeID != vol.ID || !strings.Contains(cmdline(inst.PID), vol.ID) {
		t.Errorf("instance boots from %q (from volume %v), want volume %s in QEMU's command line", inst.BootVolumeID, inst.BootFromVolume, vol.ID)
	}
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "limited", "size_gib": 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do("POST", "/api/v1/volumes/limited/attach", map[string]any{"instance": id}, nil); err != nil {
		t.Fatal(err)
	}
	diskMarker(t, c, id, "added", 1)
	qos := map[string]any{"read_iops": 200, "write_iops": 100, "read_bytes_sec": 10 << 20, "write_bytes_sec": 5 << 20}
	if err := c.Do("POST", "/api/v1/volumes/limited/qos", qos, nil); err != nil {
		t.Fatalf("live QoS: %v", err)
	}
	status, body := apiStatus(t, c, "POST", "/api/v1/instances/fromvol/rebuild", "")
	if status != 409 || !strings.Contains(body, "volume") {
		t.Errorf("rebuild of a volume-backed instance: %d %s, want 409", status, body)
	}
	c.DeleteAndWait(id)
	if v := c.volume("bootable"); v.Status != "available" {
		t.Errorf("the user's boot volume is %s after the instance was deleted, want available", v.Status)
	}
	if v := c.volume("limited"); v.Status != "available" {
		t.Errorf("the data volume is %s after the instance was deleted, want available", v.Status)
	}
}

// A snapshot becomes an image (its chain flattened), and that image boots.
func TestImageFromSnapshotBoots(t *testing.T) {
	c := newCloud(t, "")
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "sys", "image": diskImage, "size_gib": 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do("POST", "/api/v1/volumes/sys/snapshots", map[string]any{"name": "golden"}, nil); err != nil {
		t.Fatal(err)
	}
	var img struct{ Status string }
	if err := c.Do("POST", "/api/v1/snapshots/golden/image", map[string]any{"name": "from-snap"}, &img); err != nil {
		t.Fatal(err)
	}
	if img.Status != "active" {
		t.Fatalf("image from snapshot is %s", img.Status)
	}
	id := c.Create("snapboot", "from-snap", nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
}

// Live snapshots never rename a file QEMU holds, so QEMU's view of its files stays true: nine live
// snapshots of an in-use volume, the ninth past the chain limit of 8, which makes QEMU stream the
// chain into the active file (block-stream) first; the data survives a move to another guest.
func TestLiveSnapshotsPastTheChainLimit(t *testing.T) {
	c := newCloud(t, "")
	a := c.Create("a", kernelImage, nil).ID
	b := c.Create("b", kernelImage, nil).ID
	c.WaitConsole(a, ready, 1, bootWait)
	c.WaitConsole(b, ready, 1, bootWait)
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "data", "size_gib": 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do("POST", "/api/v1/volumes/data/attach", map[string]any{"instance": a}, nil); err != nil {
		t.Fatalf("attach data to a: %v", err)
	}
	added := diskMarker(t, c, a, "added", 1)
	dev := strings.Fields(strings.TrimPrefix(added, "CLOUDLET-GUEST-DISK added dev="))[0]
	canary := strings.TrimPrefix(diskMarker(t, c, a, "wrote", 1), "CLOUDLET-GUEST-DISK wrote dev="+dev+" text=")

	for i := 1; i <= 9; i++ {
		if err := c.Do("POST", "/api/v1/volumes/data/snapshots", map[string]any{"name": fmt.Sprintf("s%d", i)}, nil); err != nil {
			t.Fatalf("live snapshot %d: %v", i, err)
		}
	}
	var v struct {
		Status string
		Depth  int
	}
	if err := c.Do("GET", "/api/v1/volumes/data", nil, &v); err != nil {
		t.Fatal(err)
	}
	if v.Depth > 8 || v.Status != "in-use" {
		t.Fatalf("after 9 live snapshots the volume is %s with depth %d, want in-use and at most 8", v.Status, v.Depth)
	}
	if err := c.Do("POST", "/api/v1/volumes/data/detach", nil, nil); err != nil {
		t.Fatalf("detach data: %v", err)
	}
	diskMarker(t, c, a, "removed", 1)
	if err := c.Do("POST", "/api/v1/volumes/data/attach", map[string]any{"instance": b}, nil); err != nil {
		t.Fatalf("attach data to b: %v", err)
	}
	if got := diskMarker(t, c, b, "data", 1); !strings.HasSuffix(got, "text="+canary) {
		t.Errorf("second guest read %q, want the first guest's %q", got, canary)
	}
}

// A detach sent while the guest boots, before its ACPI is up, is lost in the guest (Linux clears the
// hotplug event it finds pending while it brings ACPI up) and QEMU never asks again by itself: cloudlet
// asks again every few seconds, so the detach succeeds once the guest can hear it (ci30 saw the same
// silence from a loaded guest two seconds after an attach, and the detach failed after 30 s). The volume
// is available, and the guest, booted, no longer has the disk.
func TestADetachWhileTheGuestBootsSucceedsOnceTheGuestCanHearIt(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("early", kernelImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "data", "size_gib": 1}, nil); err != nil {
		t.Fatal(err)
	}
	c.Act(id, "stop")
	c.WaitState(id, compute.VMStopped, compute.PowerShutdown, bootWait)
	if err := c.Do("POST", "/api/v1/volumes/data/attach", map[string]any{"instance": id}, nil); err != nil {
		t.Fatalf("attach to the stopped instance: %v", err)
	}
	c.Act(id, "start")
	c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)

	// The detach answers once the guest has let the disk go: allow the daemon's whole unplug bound (30 s).
	slow := client.New(client.Options{Socket: c.D.Socket, Timeout: time.Minute})
	start := time.Now()
	if err := slow.Do(context.Background(), "POST", "/api/v1/volumes/data/detach", nil, nil); err != nil {
		t.Fatalf("detach while the guest boots: %v", err)
	}
	t.Logf("detach sent at boot answered after %s", time.Since(start).Round(time.Millisecond))
	if v := c.volume("data"); v.Status != "available" || v.Attachment != nil {
		t.Errorf("volume after the detach: %+v, want available", v)
	}
	c.WaitConsole(id, ready, 2, bootWait)
	if out, rc := c.shell(id, "early").run("ls /sys/block | grep '^vd'"); rc != 0 || strings.Join(strings.Fields(out), " ") != "vda vdb" {
		t.Errorf("the booted guest's disks: %q (rc %d), want the boot disk and the seed only (vda, vdb)", out, rc)
	}
}
