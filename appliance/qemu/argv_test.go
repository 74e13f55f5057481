package qemu_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/qemu"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const goldenUUID = "0b5e7a9c-3f1d-4c2b-9a8e-6d4f2c1b0a99"

// goldenSpec is the base of every golden case: TCG, BIOS, no disks.
func goldenSpec() qemu.Spec {
	return qemu.Spec{
		UUID:      goldenUUID,
		Accel:     qemu.AccelTCG,
		VCPUs:     2,
		MemoryMiB: 512,
		Firmware:  qemu.Firmware{Kind: qemu.FirmwareBIOS},
		Paths:     qemu.PathsFor("/run/cloudlet/instances/"+goldenUUID, "/var/lib/cloudlet/instances/"+goldenUUID),
	}
}

func TestArgvGolden(t *testing.T) {
	tests := []struct {
		name string
		edit func(*qemu.Spec)
	}{
		{"bios-disk", func(s *qemu.Spec) {
			s.Accel = qemu.AccelKVM
			s.Disks = []qemu.Disk{
				{Name: "root", Path: "/var/lib/cloudlet/pools/default/vol-1.qcow2", Format: qemu.FormatQcow2, BootIndex: 1, Serial: "vol-1"},
				{Name: "seed", Path: "/var/lib/cloudlet/instances/" + goldenUUID + "/seed.iso", Format: qemu.FormatRaw, ReadOnly: true},
			}
		}},
		{"direct-kernel", func(s *qemu.Spec) {
			s.Kernel, s.Initrd = "/srv/guest/vmlinuz", "/srv/guest/initrd.img"
			s.Cmdline = "console=ttyS0 panic=-1 root=/dev/vda"
		}},
		{"uefi", func(s *qemu.Spec) {
			s.Firmware = qemu.Firmware{Kind: qemu.FirmwareUEFI, Code: "/usr/share/OVMF/OVMF_CODE_4M.fd",
				Vars: "/var/lib/cloudlet/instances/" + goldenUUID + "/OVMF_VARS_4M.fd"}
			s.Disks = []qemu.Disk{{Name: "root", Path: "/pool/root.raw", Format: qemu.FormatRaw, BootIndex: 1}}
		}},
		{"nics", func(s *qemu.Spec) {
			s.NICs = []qemu.NIC{
				{Name: "eth0", MAC: "52:54:00:12:34:56", TapFD: 3, VhostFD: 4},
				{Name: "eth1", MAC: "52:54:00:ab:cd:ef", TapFD: 5},
			}
		}},
		{"incoming", func(s *qemu.Spec) {
			s.Disks = []qemu.Disk{{Name: "root", Path: "/pool/root.qcow2", Format: qemu.FormatQcow2, BootIndex: 1}}
			s.IncomingFD = 3
		}},
		{"hotplug-ports", func(s *qemu.Spec) {
			s.Disks = []qemu.Disk{{Name: "root", Path: "/pool/root.qcow2", Format: qemu.FormatQcow2, BootIndex: 1},
				{Name: "port2", Path: "/pool/data.qcow2", Format: qemu.FormatQcow2, Bus: qemu.HotplugPortID(2)}}
			s.HotplugPorts = 8
		}},
		{"comma-paths", func(s *qemu.Spec) {
			s.Paths = qemu.PathsFor("/run/a,b/"+goldenUUID, "/var/lib/x,,y/"+goldenUUID)
			s.Kernel, s.Cmdline = "/srv/k,1/vmlinuz", "console=ttyS0,115200"
			s.Disks = []qemu.Disk{{Name: "root", Path: `/pool/a,b"c\d.qcow2`, Format: qemu.FormatQcow2, BootIndex: 1}}
		}},
		// the seed ISO: read-only raw virtio disk after every other device, never bootable
		{"seed-iso", func(s *qemu.Spec) {
			s.Disks = []qemu.Disk{{Name: "root", Path: "/pool/root.qcow2", Format: qemu.FormatQcow2, BootIndex: 1}}
			s.NICs = []qemu.NIC{{Name: "eth0", MAC: "52:54:00:12:34:56", TapFD: 3}}
			s.Seed = "/var/lib/x,y/" + goldenUUID + "/seed.iso"
		}},
		// an install from an ISO: the installer CD (SATA) boots first, then the blank disk; drivers CDs do not
		// boot, one on SATA, one on virtio-scsi (its controller comes with it, before the seed)
		{"iso-install", func(s *qemu.Spec) {
			s.Disks = []qemu.Disk{{Name: "root", Path: "/pool/root.qcow2", Format: qemu.FormatQcow2, BootIndex: 2}}
			s.CDROMs = []qemu.CDROM{{Path: "/var/lib/cloudlet/images/a,b/disk", BootIndex: 1},
				{Path: "/var/lib/cloudlet/images/drivers/disk", Bus: qemu.CDBusSCSI}, {Path: "/images/more/disk", Bus: qemu.CDBusSATA}}
			s.Seed = "/var/lib/x/" + goldenUUID + "/seed.iso"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := goldenSpec()
			tt.edit(&spec)
			argv, err := spec.Argv()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(argv, "\n") + "\n"
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./appliance/qemu -run Golden -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("argv mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestArgvDeterministic: the same spec gives the same argv, and Argv does not touch the spec.
func TestArgvDeterministic(t *testing.T) {
	spec := goldenSpec()
	spec.Disks = []qemu.Disk{{Name: "root", Path: "/pool/root.qcow2", Format: qemu.FormatQcow2, BootIndex: 1}}
	a, errA := spec.Argv()
	b, errB := spec.Argv()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("second Argv differs (-first +second):\n%s", diff)
	}
}

// TestArgvNoListeners: nothing in any argv opens a TCP port or daemonizes.
func TestArgvNoListeners(t *testing.T) {
	spec := goldenSpec()
	argv, err := spec.Argv()
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range argv {
		for _, bad := range []string{"tcp:", "host=", "port=", "-daemonize", "-runas", "-pidfile", "websocket"} {
			if strings.Contains(arg, bad) {
				t.Errorf("argv has %q in %q", bad, arg)
			}
		}
	}
}
