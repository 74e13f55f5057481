package qemu

import (
	"net"
	"path/filepath"
	"regexp"
	"strings"
)

// maxSocketPath is the longest unix socket path QEMU can bind (sun_path holds 108 bytes with the NUL).
const maxSocketPath = 107

var (
	uuidRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	diskNameRE = regexp.MustCompile(`^[a-z0-9-]{1,26}$`) // QEMU node names are at most 31 bytes: "disk-" + 26
	nicNameRE  = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	serialRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{0,20}$`) // virtio-blk serials are 20 bytes
)

// Validate checks everything Argv relies on. Its errors match ErrInvalidSpec.
func (s Spec) Validate() error {
	for _, check := range []func() error{
		s.validateMachine, s.validateBoot, s.validatePaths, s.validateDisks, s.validateCDROMs, s.validateNICs, s.validateFDs,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (s Spec) validateMachine() error {
	switch {
	case !uuidRE.MatchString(s.UUID):
		return invalidf("uuid %q is not a lower-case UUID", s.UUID)
	case s.Binary != "" && !isAbsPath(s.Binary):
		return invalidf("binary %q is not a clean absolute path", s.Binary)
	case s.Accel != AccelKVM && s.Accel != AccelTCG:
		return invalidf("accel %q: must be %s or %s", s.Accel, AccelKVM, AccelTCG)
	case s.VCPUs < 1 || s.VCPUs > 255:
		return invalidf("vcpus %d: must be 1 to 255", s.VCPUs)
	case s.MemoryMiB < 16:
		return invalidf("memory %d MiB: must be at least 16", s.MemoryMiB)
	case s.HotplugPorts < 0 || s.HotplugPorts > MaxHotplugPorts:
		return invalidf("hotplug ports %d: must be 0 to %d", s.HotplugPorts, MaxHotplugPorts)
	}
	return nil
}

func (s Spec) validateBoot() error {
	fw := s.Firmware
	switch fw.Kind {
	case FirmwareBIOS:
		if fw.Code != "" || fw.Vars != "" {
			return invalidf("firmware bios takes no code or vars image")
		}
	case FirmwareUEFI:
		if !isAbsPath(fw.Code) || !isAbsPath(fw.Vars) || fw.Code == fw.Vars {
			return invalidf("firmware uefi needs two different absolute paths, code %q and vars %q", fw.Code, fw.Vars)
		}
	default:
		return invalidf("firmware %q: must be %s or %s", fw.Kind, FirmwareBIOS, FirmwareUEFI)
	}
	if s.Kernel == "" {
		if s.Initrd != "" || s.Cmdline != "" {
			return invalidf("initrd and cmdline need a kernel")
		}
		return nil
	}
	if !isAbsPath(s.Kernel) || (s.Initrd != "" && !isAbsPath(s.Initrd)) {
		return invalidf("kernel %q and initrd %q must be clean absolute paths", s.Kernel, s.Initrd)
	}
	if strings.ContainsAny(s.Cmdline, "\x00\n") {
		return invalidf("kernel cmdline contains a NUL or newline")
	}
	return nil
}

func (s Spec) validatePaths() error {
	p := s.Paths
	for _, f := range []struct{ what, path string }{
		{"run dir", p.RunDir}, {"state dir", p.StateDir}, {"qmp socket", p.QMP}, {"vnc socket", p.VNC},
		{"console socket", p.Console}, {"agent socket", p.Agent}, {"ready socket", p.Ready}, {"pidfile", p.PIDFile},
		{"console log", p.ConsoleLog}, {"stderr log", p.StderrLog},
	} {
		if !isAbsPath(f.path) {
			return invalidf("%s %q is not a clean absolute path", f.what, f.path)
		}
	}
	if s.Seed != "" && !isAbsPath(s.Seed) {
		return invalidf("seed %q is not a clean absolute path", s.Seed)
	}
	for _, sock := range p.sockets() {
		if len(sock) > maxSocketPath {
			return invalidf("socket path %q is longer than %d bytes", sock, maxSocketPath)
		}
	}
	return nil
}

func (s Spec) validateDisks() error {
	names, boot, buses := map[string]bool{}, map[int]bool{}, map[string]bool{}
	for i, d := range s.Disks {
		switch {
		case !diskNameRE.MatchString(d.Name):
			return invalidf("disk %d name %q: must match %s", i, d.Name, diskNameRE)
		case names[d.Name]:
			return invalidf("disk name %q used twice", d.Name)
		case !isAbsPath(d.Path):
			return invalidf("disk %s path %q is not a clean absolute path", d.Name, d.Path)
		case d.Format != FormatQcow2 && d.Format != FormatRaw:
			return invalidf("disk %s format %q: must be %s or %s", d.Name, d.Format, FormatQcow2, FormatRaw)
		case d.BootIndex < 0 || (d.BootIndex > 0 && boot[d.BootIndex]):
			return invalidf("disk %s boot index %d: must be 0 or a positive index not used twice", d.Name, d.BootIndex)
		case !serialRE.MatchString(d.Serial):
			return invalidf("disk %s serial %q: must match %s", d.Name, d.Serial, serialRE)
		case d.Bus != "" && (!s.hasHotplugPort(d.Bus) || buses[d.Bus]):
			return invalidf("disk %s bus %q: must be a spare root port below %d, used once", d.Name, d.Bus, s.HotplugPorts)
		}
		names[d.Name], boot[d.BootIndex], buses[d.Bus] = true, d.BootIndex > 0, d.Bus != ""
	}
	return nil
}

func (s Spec) hasHotplugPort(bus string) bool {
	for i := range s.HotplugPorts {
		if bus == HotplugPortID(i) {
			return true
		}
	}
	return false
}

func (s Spec) validateNICs() error {
	names, macs := map[string]bool{}, map[string]bool{}
	for i, n := range s.NICs {
		mac, err := net.ParseMAC(n.MAC)
		switch {
		case !nicNameRE.MatchString(n.Name):
			return invalidf("nic %d name %q: must match %s", i, n.Name, nicNameRE)
		case names[n.Name]:
			return invalidf("nic name %q used twice", n.Name)
		case err != nil || len(mac) != 6 || mac[0]&1 != 0 || mac.String() != n.MAC:
			return invalidf("nic %s mac %q: must be a lower-case unicast MAC like 52:54:00:12:34:56", n.Name, n.MAC)
		case macs[n.MAC]:
			return invalidf("nic mac %s used twice", n.MAC)
		}
		names[n.Name], macs[n.MAC] = true, true
	}
	return nil
}

// validateFDs checks that every fd number passed to QEMU is past stdio and used once.
func (s Spec) validateFDs() error {
	seen := map[int]bool{}
	use := func(what string, fd int) error {
		if fd < 3 || seen[fd] {
			return invalidf("%s fd %d: must be 3 or more and used once", what, fd)
		}
		seen[fd] = true
		return nil
	}
	for _, n := range s.NICs {
		if err := use("nic "+n.Name+" tap", n.TapFD); err != nil {
			return err
		}
		if n.VhostFD != 0 {
			if err := use("nic "+n.Name+" vhost", n.VhostFD); err != nil {
				return err
			}
		}
	}
	if s.IncomingFD != 0 {
		return use("incoming", s.IncomingFD)
	}
	return nil
}

// isAbsPath accepts clean absolute paths without NULs or newlines (which no option syntax can carry).
func isAbsPath(p string) bool {
	return filepath.IsAbs(p) && filepath.Clean(p) == p && !strings.ContainsAny(p, "\x00\n\r")
}
