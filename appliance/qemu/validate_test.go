package qemu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/qemu"
)

func TestValidateAcceptsGoldenSpecs(t *testing.T) {
	spec := goldenSpec()
	spec.Kernel, spec.Initrd, spec.Cmdline = "/k", "/i", "console=ttyS0"
	spec.Disks = []qemu.Disk{{Name: strings.Repeat("a", 26), Path: "/d", Format: qemu.FormatRaw, BootIndex: 2}}
	spec.NICs = []qemu.NIC{{Name: strings.Repeat("n", 32), MAC: "02:00:00:00:00:01", TapFD: 3, VhostFD: 4}}
	spec.IncomingFD = 5
	if err := spec.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestValidateRejects(t *testing.T) {
	disk := func(edit func(*qemu.Disk)) func(*qemu.Spec) {
		return func(s *qemu.Spec) {
			d := qemu.Disk{Name: "root", Path: "/pool/root.qcow2", Format: qemu.FormatQcow2, BootIndex: 1}
			edit(&d)
			s.Disks = append(s.Disks, d)
		}
	}
	nic := func(edit func(*qemu.NIC)) func(*qemu.Spec) {
		return func(s *qemu.Spec) {
			n := qemu.NIC{Name: "eth0", MAC: "52:54:00:12:34:56", TapFD: 3}
			edit(&n)
			s.NICs = append(s.NICs, n)
		}
	}
	tests := []struct {
		name    string
		edit    func(*qemu.Spec)
		wantMsg string
	}{
		{"missing uuid", func(s *qemu.Spec) { s.UUID = "" }, "uuid"},
		{"not a uuid", func(s *qemu.Spec) { s.UUID = "web-1" }, "uuid"},
		{"relative seed", func(s *qemu.Spec) { s.Seed = "seed.iso" }, "seed"},
		{"unclean seed", func(s *qemu.Spec) { s.Seed = "/var/lib/../seed.iso" }, "seed"},
		{"upper-case uuid", func(s *qemu.Spec) { s.UUID = strings.ToUpper(goldenUUID) }, "uuid"},
		{"uuid with option", func(s *qemu.Spec) { s.UUID = goldenUUID + ",debug-threads=on" }, "uuid"},
		{"relative binary", func(s *qemu.Spec) { s.Binary = "bin/qemu" }, "binary"},
		{"no accel", func(s *qemu.Spec) { s.Accel = "" }, "accel"},
		{"unknown accel", func(s *qemu.Spec) { s.Accel = "hvf" }, "accel"},
		{"zero vcpus", func(s *qemu.Spec) { s.VCPUs = 0 }, "vcpus"},
		{"too many vcpus", func(s *qemu.Spec) { s.VCPUs = 256 }, "vcpus"},
		{"too little memory", func(s *qemu.Spec) { s.MemoryMiB = 15 }, "memory"},
		{"too many hotplug ports", func(s *qemu.Spec) { s.HotplugPorts = 9 }, "hotplug ports"},
		{"negative hotplug ports", func(s *qemu.Spec) { s.HotplugPorts = -1 }, "hotplug ports"},
		{"disk on a missing port", func(s *qemu.Spec) {
			s.HotplugPorts = 2
			s.Disks = []qemu.Disk{{Name: "a", Path: "/a", Format: qemu.FormatRaw, Bus: qemu.HotplugPortID(2)}}
		}, "spare root port"},
		{"two disks on one port", func(s *qemu.Spec) {
			s.HotplugPorts = 2
			s.Disks = []qemu.Disk{{Name: "a", Path: "/a", Format: qemu.FormatRaw, Bus: "hp1"}, {Name: "b", Path: "/b", Format: qemu.FormatRaw, Bus: "hp1"}}
		}, "used once"},
		{"no firmware", func(s *qemu.Spec) { s.Firmware.Kind = "" }, "firmware"},
		{"unknown firmware", func(s *qemu.Spec) { s.Firmware.Kind = "coreboot" }, "firmware"},
		{"bios with images", func(s *qemu.Spec) { s.Firmware.Code = "/c" }, "firmware"},
		{"uefi without vars", func(s *qemu.Spec) { s.Firmware = qemu.Firmware{Kind: qemu.FirmwareUEFI, Code: "/c"} }, "firmware"},
		{"uefi relative code", func(s *qemu.Spec) {
			s.Firmware = qemu.Firmware{Kind: qemu.FirmwareUEFI, Code: "OVMF_CODE.fd", Vars: "/v"}
		}, "firmware"},
		{"uefi shared vars", func(s *qemu.Spec) { s.Firmware = qemu.Firmware{Kind: qemu.FirmwareUEFI, Code: "/c", Vars: "/c"} }, "firmware"},
		{"relative kernel", func(s *qemu.Spec) { s.Kernel = "vmlinuz" }, "kernel"},
		{"relative initrd", func(s *qemu.Spec) { s.Kernel, s.Initrd = "/k", "initrd" }, "initrd"},
		{"initrd without kernel", func(s *qemu.Spec) { s.Initrd = "/i" }, "kernel"},
		{"cmdline without kernel", func(s *qemu.Spec) { s.Cmdline = "quiet" }, "kernel"},
		{"cmdline with newline", func(s *qemu.Spec) { s.Kernel, s.Cmdline = "/k", "quiet\n-S" }, "cmdline"},
		{"relative run dir", func(s *qemu.Spec) { s.Paths = qemu.PathsFor("run", "/state") }, "run dir"},
		{"relative state dir", func(s *qemu.Spec) { s.Paths = qemu.PathsFor("/run", "state") }, "state dir"},
		{"unclean path", func(s *qemu.Spec) { s.Paths.QMP = "/run/../qmp.sock" }, "qmp socket"},
		{"missing path", func(s *qemu.Spec) { s.Paths.PIDFile = "" }, "pidfile"},
		{"newline in path", func(s *qemu.Spec) { s.Paths = qemu.PathsFor("/run/a\nb", "/state") }, "run dir"},
		{"nul in path", func(s *qemu.Spec) { s.Paths.ConsoleLog = "/state/a\x00b" }, "console log"},
		{"socket path too long", func(s *qemu.Spec) { s.Paths = qemu.PathsFor("/run/"+strings.Repeat("x", 100), "/state") }, "longer than"},
		{"empty disk name", disk(func(d *qemu.Disk) { d.Name = "" }), "disk 0 name"},
		{"disk name with comma", disk(func(d *qemu.Disk) { d.Name = "a,b" }), "disk 0 name"},
		{"upper-case disk name", disk(func(d *qemu.Disk) { d.Name = "Root" }), "disk 0 name"},
		{"disk name too long", disk(func(d *qemu.Disk) { d.Name = strings.Repeat("a", 27) }), "disk 0 name"},
		{"duplicate disk name", func(s *qemu.Spec) {
			disk(func(*qemu.Disk) {})(s)
			disk(func(d *qemu.Disk) { d.BootIndex = 2 })(s)
		}, "used twice"},
		{"relative disk path", disk(func(d *qemu.Disk) { d.Path = "root.qcow2" }), "path"},
		{"newline in disk path", disk(func(d *qemu.Disk) { d.Path = "/pool/a\n.qcow2" }), "path"},
		{"no disk format", disk(func(d *qemu.Disk) { d.Format = "" }), "format"},
		{"unknown disk format", disk(func(d *qemu.Disk) { d.Format = "vmdk" }), "format"},
		{"negative boot index", disk(func(d *qemu.Disk) { d.BootIndex = -1 }), "boot index"},
		{"duplicate boot index", func(s *qemu.Spec) {
			disk(func(*qemu.Disk) {})(s)
			disk(func(d *qemu.Disk) { d.Name = "data" })(s)
		}, "boot index"},
		{"serial too long", disk(func(d *qemu.Disk) { d.Serial = strings.Repeat("s", 21) }), "serial"},
		{"serial with comma", disk(func(d *qemu.Disk) { d.Serial = "a,b" }), "serial"},
		{"bad nic name", nic(func(n *qemu.NIC) { n.Name = "eth_0" }), "nic 0 name"},
		{"duplicate nic name", func(s *qemu.Spec) {
			nic(func(*qemu.NIC) {})(s)
			nic(func(n *qemu.NIC) { n.MAC, n.TapFD = "52:54:00:12:34:57", 4 })(s)
		}, "used twice"},
		{"malformed mac", nic(func(n *qemu.NIC) { n.MAC = "52:54:00:12:34" }), "mac"},
		{"mac with comma", nic(func(n *qemu.NIC) { n.MAC = "52:54:00:12:34:56,x=y" }), "mac"},
		{"upper-case mac", nic(func(n *qemu.NIC) { n.MAC = "52:54:00:AB:CD:EF" }), "mac"},
		{"dashed mac", nic(func(n *qemu.NIC) { n.MAC = "52-54-00-12-34-56" }), "mac"},
		{"multicast mac", nic(func(n *qemu.NIC) { n.MAC = "01:00:5e:00:00:01" }), "mac"},
		{"eui-64 mac", nic(func(n *qemu.NIC) { n.MAC = "52:54:00:12:34:56:78:9a" }), "mac"},
		{"duplicate mac", func(s *qemu.Spec) {
			nic(func(*qemu.NIC) {})(s)
			nic(func(n *qemu.NIC) { n.Name, n.TapFD = "eth1", 4 })(s)
		}, "used twice"},
		{"tap fd is stdio", nic(func(n *qemu.NIC) { n.TapFD = 2 }), "tap fd"},
		{"no tap fd", nic(func(n *qemu.NIC) { n.TapFD = 0 }), "tap fd"},
		{"vhost fd is stdio", nic(func(n *qemu.NIC) { n.VhostFD = 1 }), "vhost fd"},
		{"vhost fd is tap fd", nic(func(n *qemu.NIC) { n.VhostFD = 3 }), "vhost fd"},
		{"unknown cdrom bus", func(s *qemu.Spec) { s.CDROMs = []qemu.CDROM{{Path: "/i.iso", Bus: "usb"}} }, "cdrom 0 bus"},
		{"relative cdrom", func(s *qemu.Spec) { s.CDROMs = []qemu.CDROM{{Path: "disk.iso"}} }, "cdrom 0 path"},
		{"cdrom boot index of the disk", func(s *qemu.Spec) {
			disk(func(*qemu.Disk) {})(s)
			s.CDROMs = []qemu.CDROM{{Path: "/i.iso", BootIndex: 1}}
		}, "cdrom 0 boot index"},
		{"two cdroms booting first", func(s *qemu.Spec) {
			s.CDROMs = []qemu.CDROM{{Path: "/a.iso", BootIndex: 1}, {Path: "/b.iso", BootIndex: 1}}
		}, "cdrom 1 boot index"},
		{"more cdroms than ports", func(s *qemu.Spec) {
			s.CDROMs = make([]qemu.CDROM, qemu.MaxCDROMs+1)
		}, "cdroms: at most"},
		{"incoming fd is stdio", func(s *qemu.Spec) { s.IncomingFD = 1 }, "incoming fd"},
		{"incoming fd negative", func(s *qemu.Spec) { s.IncomingFD = -3 }, "incoming fd"},
		{"incoming fd is tap fd", func(s *qemu.Spec) {
			nic(func(*qemu.NIC) {})(s)
			s.IncomingFD = 3
		}, "incoming fd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := goldenSpec()
			tt.edit(&spec)
			err := spec.Validate()
			if !errors.Is(err, qemu.ErrInvalidSpec) {
				t.Fatalf("Validate() = %v, want ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Validate() = %q, want it to mention %q", err, tt.wantMsg)
			}
			if argv, err := spec.Argv(); argv != nil || !errors.Is(err, qemu.ErrInvalidSpec) {
				t.Errorf("Argv() = %q, %v; want nil, ErrInvalidSpec", argv, err)
			}
		})
	}
}

func TestErrorsHaveFaultKinds(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{qemu.ErrInvalidSpec, "invalid"},
		{qemu.ErrNotRunning, "conflict"},
		{qemu.ErrRunning, "conflict"},
		{qemu.ErrNotOurs, ""},
	}
	for _, tt := range tests {
		var k interface{ FaultKind() string }
		if !errors.As(tt.err, &k) || k.FaultKind() != tt.want {
			t.Errorf("%v: FaultKind() = %v, want %q", tt.err, k, tt.want)
		}
	}
}

func TestPathsFor(t *testing.T) {
	got := qemu.PathsFor("/run/i/u1", "/var/lib/i/u1")
	want := qemu.Paths{
		RunDir: "/run/i/u1", StateDir: "/var/lib/i/u1",
		QMP: "/run/i/u1/qmp.sock", VNC: "/run/i/u1/vnc.sock", Console: "/run/i/u1/console.sock",
		Agent: "/run/i/u1/agent.sock", Ready: "/run/i/u1/ready.sock", PIDFile: "/run/i/u1/qemu.pid",
		StderrLog:  "/run/i/u1/qemu.log",
		ConsoleLog: "/var/lib/i/u1/console.log",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PathsFor() mismatch (-want +got):\n%s", diff)
	}
}
