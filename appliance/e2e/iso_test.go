package e2e

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// Images of the test guest built as a bootable ISO (El Torito, isolinux, from Debian packages).
const (
	isoImage     = "tg-iso"     // hw_cdrom_bus scsi: the guest's cloud kernel sees it as sr0
	driversImage = "tg-drivers" // the default bus (SATA), which that kernel has no driver for
)

// blockMarker is the test guest's report of the block devices it sees.
const blockMarker = "CLOUDLET-GUEST-BLOCK"

// importISOs imports the test guest's ISO twice, as an installer on virtio-scsi and as drivers on SATA.
func importISOs(c *Cloud) int64 {
	c.T.Helper()
	iso := GuestPaths(c.T).ISO
	c.ImportImage(map[string]any{"name": isoImage, "path": iso, "disk_format": "iso",
		"properties": map[string]string{"hw_cdrom_bus": "scsi"}})
	c.ImportImage(map[string]any{"name": driversImage, "path": iso, "disk_format": "iso"})
	st, err := os.Stat(iso)
	if err != nil {
		c.T.Fatal(err)
	}
	return st.Size()
}

// blockLines are the guest's block reports in the console log, one per boot, without the marker.
func blockLines(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if i := strings.Index(line, blockMarker+" "); i >= 0 {
			out = append(out, strings.TrimSpace(line[i+len(blockMarker)+1:]))
		}
	}
	return out
}

// The install flow of an ISO, through the real CLI: an instance from the ISO boots from the CD-ROM (first in
// the boot order) and sees a blank disk of exactly its flavor's size and the CD; the "installer" copies
// itself onto the disk; `cloudlet instance eject` empties the drive while the guest runs (the guest finds
// no medium in sr0), is on the record and the event log; the next boot has no CD-ROM at all and comes from the
// installed disk. Readers may not eject, members of another project do not find the instance, an image in
// a drive cannot be deleted, a second eject is a conflict.
func TestAnInstanceFromAnISOInstallsOntoABlankDiskAndBootsItAfterEject(t *testing.T) {
	c := newCloud(t, "")
	isoSize := importISOs(c)
	run := func(want int, args ...string) string { t.Helper(); return c.CLIExit(want, args...) }
	run(0, "instance", "create", "inst", "--image", isoImage, "--cdrom", driversImage, "--flavor", "m1.tiny",
		"--no-network", "--config-drive", "none")
	id := c.Show("inst").ID
	log := c.WaitConsole(id, ready, 1, bootWait)
	inst := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
	want := "boot=iso sr0=" + strconv.FormatInt(isoSize, 10) + " vda=" + strconv.Itoa(1<<30)
	if got := blockLines(log); len(got) != 1 || got[0] != want {
		t.Fatalf("first boot's block report %q, want [%q]: booted by the ISO's loader, a blank 1 GiB disk, the CD", got, want)
	}
	argv := cmdline(inst.PID)
	for _, dev := range []string{`"driver":"scsi-cd","id":"cd0","drive":"cd0","bus":"scsi0.0","scsi-id":0,"bootindex":1`,
		`"driver":"ide-cd","id":"cd1","drive":"cd1","bus":"ide.0"}`, `"id":"disk-root","drive":"disk-root","bootindex":2`} {
		if !strings.Contains(argv, dev) {
			t.Errorf("QEMU's argv lacks %s:\n%s", dev, argv)
		}
	}
	if show := run(0, "instance", "show", "inst"); !strings.Contains(show, "cdroms") {
		t.Errorf("instance show lacks the CD-ROMs:\n%s", show)
	}

	sh := c.shell(id, "installer")
	if out, rc := sh.run("dd if=/dev/sr0 of=/dev/vda bs=1M 2>&1 && sync"); rc != 0 {
		t.Fatalf("installing (dd the CD onto the disk): rc %d: %s", rc, out)
	}

	checkEjectRefusals(t, c, id)
	run(0, "instance", "eject", "inst")
	if got := c.Show(id); len(got.CDROMs) != 0 || got.PID != inst.PID {
		t.Errorf("after eject: cdroms %+v, pid %d; want none, the same QEMU %d", got.CDROMs, got.PID, inst.PID)
	}
	if out, rc := sh.run("dd if=/dev/sr0 of=/dev/null bs=2048 count=1 2>&1"); rc == 0 || !strings.Contains(out, "No medium found") {
		t.Errorf("the guest reading sr0 after a live eject: %q (rc %d), want an empty drive (No medium found)", out, rc)
	}
	if out := run(1, "instance", "eject", "inst"); !strings.Contains(out, "has no CD-ROM to eject") {
		t.Errorf("second eject:\n%s", out)
	}
	checkEjectEvent(t, c, id)

	run(0, "instance", "stop", "inst", "--wait")
	run(0, "instance", "start", "inst", "--wait")
	log = c.WaitConsole(id, ready, 2, bootWait)
	if got := blockLines(log); len(got) != 2 || got[1] != "boot=iso vda="+strconv.Itoa(1<<30) {
		t.Errorf("block reports %q: want the second boot to have the installed disk and no CD-ROM", got)
	}
	after := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
	if argv := cmdline(after.PID); strings.Contains(argv, "-cd\"") || strings.Contains(argv, "scsi0") {
		t.Errorf("QEMU after eject and restart still has a CD-ROM:\n%s", argv)
	}
}

// checkEjectRefusals: a reader of the project may not eject (403), a member of another project does not
// find the instance (404); both leave the CD-ROMs in. An image in a drive cannot be deleted (409).
func checkEjectRefusals(t *testing.T, c *Cloud, id string) {
	t.Helper()
	reader := readerClient(t, c)
	if err := reader.Do(t.Context(), "POST", "/api/v1/instances/"+id+"/eject", nil, nil); !isHTTP(err, 403) {
		t.Errorf("a reader's eject: %v, want 403", err)
	}
	api := httpAPI{t: t, base: "http://" + c.D.Listen}
	other := api.addMember(c.Token(), "pb", "ub", "other-member-pw-51c7")
	if code := api.call("POST", "/api/v1/instances/"+id+"/eject", other, nil, nil); code != 404 {
		t.Errorf("another project's member's eject = %d, want 404", code)
	}
	if got := c.Show(id); len(got.CDROMs) != 2 {
		t.Errorf("after the refused ejects the instance has cdroms %+v, want both", got.CDROMs)
	}
	if status, body := apiStatus(t, c, "DELETE", "/api/v1/images/"+driversImage, ""); status != 409 || !strings.Contains(body, "instance inst") {
		t.Errorf("delete of an image in a CD-ROM drive: %d %s; want 409 naming the instance", status, body)
	}
}

// checkEjectEvent: the eject is on the event log, naming both images.
func checkEjectEvent(t *testing.T, c *Cloud, id string) {
	t.Helper()
	var events []struct {
		Type string          `json:"type"`
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := c.Do("GET", "/api/v1/events?limit=1000", nil, &events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		var data struct {
			ImageIDs []string `json:"image_ids"`
		}
		if e.Type == "instance.cdrom_ejected" && e.ID == id && json.Unmarshal(e.Data, &data) == nil && len(data.ImageIDs) == 2 {
			return
		}
	}
	t.Errorf("no instance.cdrom_ejected event naming both images for %s in %d events", id, len(events))
}

// Bad input: an ISO with a flavor that has no disk (nothing to install onto) and a disk image as a CD-ROM
// are refused with 400 naming the problem; eject on an instance without a CD-ROM is a 409.
func TestISOBadInput(t *testing.T) {
	c := newCloud(t, "")
	importISOs(c)
	if err := c.Do("POST", "/api/v1/flavors", map[string]any{"name": "nodisk", "vcpus": 1, "ram_mib": 256, "disk_gib": 0}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"name":"a","image":"` + isoImage + `","flavor":"nodisk"}`, "has none (disk 0)"},
		{`{"name":"b","image":"` + kernelImage + `","flavor":"m1.tiny","cdroms":["` + diskImage + `"]}`, "is not an ISO"},
	} {
		if status, body := apiStatus(t, c, "POST", "/api/v1/instances", tc.body); status != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("create %s: %d %s; want 400 saying %q", tc.body, status, body, tc.want)
		}
	}
	id := c.Create("plain", kernelImage, map[string]any{"networks": []string{}}).ID
	if status, body := apiStatus(t, c, "POST", "/api/v1/instances/"+id+"/eject", ""); status != 409 || !strings.Contains(body, "no CD-ROM") {
		t.Errorf("eject without a CD-ROM: %d %s; want 409", status, body)
	}
	c.WaitConsole(id, ready, 1, bootWait)
	c.DeleteAndWait(id)
}

// An ISO on the default bus (SATA: an ide-cd on q35's AHCI controller, what every installer reads) is
// booted by SeaBIOS: the disk is blank, so the guest's ISO boot loader can only have come from the CD.
// (The test guest's cloud kernel has no AHCI driver, so it does not list the drive itself.)
func TestAnISOOnTheDefaultSATABusBootsFromSeaBIOS(t *testing.T) {
	c := newCloud(t, "")
	importISOs(c)
	inst := c.Create("sata", driversImage, map[string]any{"networks": []string{}, "config_drive": "none"})
	log := c.WaitConsole(inst.ID, ready, 1, bootWait)
	if got := blockLines(log); len(got) != 1 || got[0] != "boot=iso vda="+strconv.Itoa(1<<30) {
		t.Errorf("block report %q: want the ISO's loader and the blank 1 GiB disk", got)
	}
	running := c.WaitState(inst.ID, compute.VMActive, compute.PowerRunning, 10*time.Second)
	if argv := cmdline(running.PID); !strings.Contains(argv, `"driver":"ide-cd","id":"cd0","drive":"cd0","bus":"ide.0","bootindex":1`) {
		t.Errorf("QEMU's argv lacks the SATA CD-ROM booting first:\n%s", argv)
	}
}
