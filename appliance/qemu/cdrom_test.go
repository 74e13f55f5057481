package qemu_test

import (
	"encoding/json"
	"slices"
	"testing"

	"cloudlet/appliance/qemu"
)

// An ISO install's argv has each ISO read-only in its own drive: SATA drives (the default) as ide-cd
// on q35's AHCI ports, SCSI drives as scsi-cd on one virtio-scsi controller. The installer CD boots
// first (bootindex 1), the blank disk second, drivers CDs are not in the boot order. SATA drives add no
// PCI device, so every other device keeps its address.
func TestArgvAttachesISOsAsReadOnlyCDROMsThatBootBeforeTheDisk(t *testing.T) {
	spec := goldenSpec()
	spec.Disks = []qemu.Disk{{Name: "root", Path: "/pool/root.qcow2", Format: qemu.FormatQcow2, BootIndex: 2}}
	spec.CDROMs = []qemu.CDROM{{Path: "/images/installer/disk", BootIndex: 1}, {Path: "/images/drivers/disk", Bus: qemu.CDBusSCSI},
		{Path: "/images/more/disk", Bus: qemu.CDBusSATA}}
	argv, err := spec.Argv()
	if err != nil {
		t.Fatal(err)
	}
	devices, blockdevs := optionsOf(t, argv, "-device"), optionsOf(t, argv, "-blockdev")
	for i, want := range []struct {
		driver, bus, path string
		bootindex         float64
	}{{"ide-cd", "ide.0", "/images/installer/disk", 1}, {"scsi-cd", "scsi0.0", "/images/drivers/disk", 0},
		{"ide-cd", "ide.1", "/images/more/disk", 0}} {
		id := qemu.CDROMID(i)
		dev := findOpt(devices, "id", id)
		if dev == nil || dev["driver"] != want.driver || dev["drive"] != id || dev["bus"] != want.bus {
			t.Errorf("device of cdrom %d = %v; want a %s %s on %s", i, dev, want.driver, id, want.bus)
		}
		if got, _ := dev["bootindex"].(float64); got != want.bootindex {
			t.Errorf("cdrom %d bootindex = %v, want %v", i, got, want.bootindex)
		}
		file, format := findOpt(blockdevs, "node-name", id+"-file"), findOpt(blockdevs, "node-name", id)
		if file == nil || file["filename"] != want.path || file["read-only"] != true {
			t.Errorf("file node of cdrom %d = %v; want %s read-only", i, file, want.path)
		}
		if format == nil || format["driver"] != "raw" || format["file"] != id+"-file" || format["read-only"] != true {
			t.Errorf("format node of cdrom %d = %v; want raw, read-only, over %s-file", i, format, id)
		}
	}
	if ctl := findOpt(devices, "id", "scsi0"); ctl == nil || ctl["driver"] != "virtio-scsi-pci" {
		t.Errorf("scsi controller = %v; want a virtio-scsi-pci scsi0", ctl)
	}
	if root := findOpt(devices, "id", "disk-root"); root == nil || root["bootindex"] != float64(2) {
		t.Errorf("root disk device = %v; want bootindex 2, after the installer CD", root)
	}

	sataOnly := spec
	sataOnly.CDROMs = []qemu.CDROM{spec.CDROMs[0], spec.CDROMs[2]}
	withSATA, err := sataOnly.Argv()
	if err != nil {
		t.Fatal(err)
	}
	without := goldenSpec()
	without.Disks = spec.Disks
	plain, err := without.Argv()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pciDevices(t, withSATA), pciDevices(t, plain); !slices.Equal(got, want) {
		t.Errorf("PCI devices with SATA CD-ROMs %v differ from those without %v", got, want)
	}
}

// optionsOf decodes the JSON values of every occurrence of flag in argv.
func optionsOf(t *testing.T, argv []string, flag string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] != flag || argv[i+1][0] != '{' {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(argv[i+1]), &m); err != nil {
			t.Fatalf("%s %s: %v", flag, argv[i+1], err)
		}
		out = append(out, m)
	}
	return out
}

func findOpt(opts []map[string]any, key, value string) map[string]any {
	for _, o := range opts {
		if o[key] == value {
			return o
		}
	}
	return nil
}

// pciDevices lists the JSON -device options that are not on the AHCI controller, in order.
func pciDevices(t *testing.T, argv []string) []string {
	var out []string
	for _, d := range optionsOf(t, argv, "-device") {
		if d["driver"] != "ide-cd" {
			out = append(out, d["driver"].(string)+"/"+d["id"].(string))
		}
	}
	return out
}
