package qemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// sandbox is QEMU's seccomp filter: no obsolete syscalls, no set*uid, no fork/exec, no scheduler or
// priority changes. It is why privileges are dropped by the caller, never by -runas.
const sandbox = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

// Argv returns QEMU's argv for s, argv[0] being the binary. It is a pure function of s: the same
// spec always gives the same argv. QEMU starts paused (-S); the caller resumes it with QMP "cont".
func (s Spec) Argv() ([]string, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	bin := s.Binary
	if bin == "" {
		bin = DefaultBinary
	}
	a := []string{bin, "-nodefaults", "-no-user-config", "-S"}
	a = append(a, s.machineArgs()...)
	a = append(a, s.Paths.monitorArgs()...)
	a = append(a, deviceArgs()...)
	a = append(a, hotplugArgs(s.HotplugPorts)...)
	a = append(a, s.bootArgs()...)
	for _, d := range s.Disks {
		a = append(a, d.args()...)
	}
	for _, n := range s.NICs {
		a = append(a, n.args()...)
	}
	a = append(a, cdromArgs(s.CDROMs)...) // on the AHCI controller: no PCI address moves
	// last: the devices before it keep the PCI addresses they had without it (a saved state restores)
	a = append(a, seedArgs(s.Seed)...)
	if s.IncomingFD > 0 {
		a = append(a, "-incoming", "fd:"+strconv.Itoa(s.IncomingFD))
	}
	return a, nil
}

func (s Spec) machineArgs() []string {
	machine, cpu := "q35", "max" // max: every feature TCG emulates
	if s.Firmware.Kind == FirmwareUEFI {
		machine += ",pflash0=fw-code,pflash1=fw-vars"
	}
	if s.Accel == AccelKVM {
		cpu = "host"
	}
	return []string{
		"-name", s.UUID,
		"-uuid", s.UUID,
		"-machine", machine,
		"-accel", s.Accel,
		"-cpu", cpu,
		"-smp", strconv.Itoa(s.VCPUs),
		"-m", strconv.Itoa(s.MemoryMiB) + "M",
		"-sandbox", sandbox,
		"-msg", "timestamp=on",
		"-rtc", "base=utc",
		"-action", "panic=shutdown", // a pvpanic sends GUEST_PANICKED, then QEMU shuts down
		"-display", "none",
		"-smbios", smbiosType1(s.UUID),
	}
}

// smbiosType1 is the system information cloud-init's ds-identify reads to enable its OpenStack
// datasource when no seed is attached, as Nova's libvirt driver writes it.
func smbiosType1(uuid string) string {
	return "type=1,manufacturer=" + escapeOpt("OpenStack Foundation") + ",product=" + escapeOpt("OpenStack Nova") +
		",serial=" + escapeOpt(uuid) + ",uuid=" + escapeOpt(uuid) + ",family=" + escapeOpt("Virtual Machine")
}

// SeedNode is the block node of the seed disk (Spec.Seed); its qdev id is the same.
const SeedNode = "seed"

// seedArgs attach the seed ISO read-only as a virtio disk with the serial "cloudlet-seed".
func seedArgs(path string) []string {
	if path == "" {
		return nil
	}
	dev := struct {
		Driver string `json:"driver"`
		ID     string `json:"id"`
		Drive  string `json:"drive"`
		Serial string `json:"serial"`
	}{"virtio-blk-pci", SeedNode, SeedNode, "cloudlet-seed"}
	a := blockdevArgs(SeedNode, SeedNode+"-file", path, FormatRaw, true)
	return append(a, "-device", jsonArg(dev))
}

// monitorArgs are the unix sockets: QMP, serial console (logged), VNC, the guest agent channel and the
// ready channel.
func (p Paths) monitorArgs() []string {
	return []string{
		"-chardev", "socket,id=qmp,path=" + escapeOpt(p.QMP) + ",server=on,wait=off",
		"-mon", "chardev=qmp,mode=control",
		"-chardev", "socket,id=serial0,path=" + escapeOpt(p.Console) + ",server=on,wait=off,logfile=" +
			escapeOpt(p.ConsoleLog) + ",logappend=on",
		"-serial", "chardev:serial0",
		"-vnc", "unix:" + escapeOpt(p.VNC),
		"-chardev", "socket,id=agent,path=" + escapeOpt(p.Agent) + ",server=on,wait=off",
		"-chardev", "socket,id=ready,path=" + escapeOpt(p.Ready) + ",server=on,wait=off",
	}
}

// deviceArgs are the devices every instance has.
func deviceArgs() []string {
	return []string{
		"-device", "VGA",
		"-device", "qemu-xhci,id=usb",
		"-device", "usb-tablet,bus=usb.0", // absolute pointer, so VNC clients track the mouse
		"-device", "virtio-serial-pci,id=vser0",
		"-device", "virtserialport,bus=vser0.0,chardev=agent,name=org.qemu.guest_agent.0",
		"-device", "virtserialport,bus=vser0.0,chardev=ready,name=" + ReadyPortName,
		"-object", "rng-random,id=rng0,filename=/dev/urandom",
		"-device", "virtio-rng-pci,rng=rng0",
		"-device", "pvpanic",
	}
}

// hotplugSlot is the PCI slot of the spare root ports (one function each). 0x1c is where ICH9 puts its
// root ports, and QEMU assigns other devices from the low slots, so explicit and automatic never meet.
const hotplugSlot = "0x1c"

// hotplugArgs are n spare PCIe root ports in one multifunction slot.
func hotplugArgs(n int) []string {
	var a []string
	for i := range n {
		port := struct {
			Driver        string `json:"driver"`
			ID            string `json:"id"`
			Bus           string `json:"bus"`
			Chassis       int    `json:"chassis"`
			Port          int    `json:"port"`
			Addr          string `json:"addr"`
			Multifunction bool   `json:"multifunction,omitempty"`
		}{"pcie-root-port", HotplugPortID(i), "pcie.0", i + 1, 0x10 + i, fmt.Sprintf("%s.%#x", hotplugSlot, i), i == 0}
		a = append(a, "-device", jsonArg(port))
	}
	return a
}

func (s Spec) bootArgs() []string {
	var a []string
	if fw := s.Firmware; fw.Kind == FirmwareUEFI {
		a = append(a, blockdevArgs("fw-code", "fw-code-file", fw.Code, FormatRaw, true)...)
		a = append(a, blockdevArgs("fw-vars", "fw-vars-file", fw.Vars, FormatRaw, false)...)
	}
	if s.Kernel == "" {
		return a
	}
	// -kernel, -initrd and -append are stored as whole strings, never split on commas.
	a = append(a, "-kernel", s.Kernel)
	if s.Initrd != "" {
		a = append(a, "-initrd", s.Initrd)
	}
	if s.Cmdline != "" {
		a = append(a, "-append", s.Cmdline)
	}
	return a
}

func (d Disk) args() []string {
	dev := struct {
		Driver    string `json:"driver"`
		ID        string `json:"id"`
		Drive     string `json:"drive"`
		BootIndex int    `json:"bootindex,omitempty"`
		Serial    string `json:"serial,omitempty"`
		Bus       string `json:"bus,omitempty"`
	}{"virtio-blk-pci", d.DeviceID(), d.NodeName(), d.BootIndex, d.Serial, d.Bus}
	a := blockdevArgs(d.NodeName(), d.FileNodeName(), d.Path, d.Format, d.ReadOnly)
	return append(a, "-device", jsonArg(dev))
}

// blockdevArgs opens path as a file node and puts a format node with an explicit driver on top.
func blockdevArgs(node, fileNode, path, format string, readOnly bool) []string {
	type blockdev struct {
		Driver   string `json:"driver"`
		NodeName string `json:"node-name"`
		Filename string `json:"filename,omitempty"`
		File     string `json:"file,omitempty"`
		ReadOnly bool   `json:"read-only"`
	}
	return []string{
		"-blockdev", jsonArg(blockdev{Driver: "file", NodeName: fileNode, Filename: path, ReadOnly: readOnly}),
		"-blockdev", jsonArg(blockdev{Driver: format, NodeName: node, File: fileNode, ReadOnly: readOnly}),
	}
}

func (n NIC) args() []string {
	netdev := fmt.Sprintf("tap,id=%s,fd=%d", n.NetdevID(), n.TapFD)
	if n.VhostFD > 0 {
		netdev += fmt.Sprintf(",vhost=on,vhostfd=%d", n.VhostFD)
	}
	dev := struct {
		Driver string `json:"driver"`
		ID     string `json:"id"`
		Netdev string `json:"netdev"`
		MAC    string `json:"mac"`
	}{"virtio-net-pci", n.DeviceID(), n.NetdevID(), n.MAC}
	return []string{"-netdev", netdev, "-device", jsonArg(dev)}
}

// escapeOpt escapes a value for QEMU's key=value,key=value option syntax, where ",," is a comma.
// Validate has already refused NULs and newlines.
func escapeOpt(v string) string { return strings.ReplaceAll(v, ",", ",,") }

// jsonArg encodes v for a JSON option (-blockdev, -device). v is built from plain fields, so
// encoding cannot fail.
func jsonArg(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("qemu: encode %T: %v", v, err))
	}
	return strings.TrimSuffix(b.String(), "\n")
}
