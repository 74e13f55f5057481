package qemu

import "strconv"

import "path/filepath"

// DefaultBinary is the QEMU started when Spec.Binary is empty; it is looked up in PATH.
const DefaultBinary = "qemu-system-x86_64"

// Accelerators.
const (
	AccelKVM = "kvm"
	AccelTCG = "tcg"
)

// Firmware kinds.
const (
	FirmwareBIOS = "bios" // SeaBIOS, QEMU's default
	FirmwareUEFI = "uefi" // OVMF from two pflash images
)

// Disk formats. QEMU is always told the format; it never probes.
const (
	FormatQcow2 = "qcow2"
	FormatRaw   = "raw"
)

// Spec is everything needed to start one instance's QEMU. It holds no user-chosen names: the
// instance is known to QEMU only by its UUID.
type Spec struct {
	UUID       string   // instance id, a lower-case UUID; QEMU's -uuid and -name, checked again on reattach
	Binary     string   // absolute path of the QEMU binary; "" means DefaultBinary from PATH
	Accel      string   // AccelKVM or AccelTCG
	VCPUs      int      // 1..255
	MemoryMiB  int      // at least 16
	Firmware   Firmware // BIOS or UEFI
	Kernel     string   // direct kernel boot when not empty
	Initrd     string   // only with Kernel
	Cmdline    string   // kernel command line, only with Kernel
	Disks      []Disk   // virtio-blk disks, in PCI order
	CDROMs     []CDROM  // read-only CD-ROM drives (ISOs), on the AHCI ports in order (cdrom.go)
	NICs       []NIC    // virtio-net NICs on tap fds passed in, in PCI order
	Paths      Paths    // per-instance files, see PathsFor
	IncomingFD int      // >0: resume from a saved state read from this fd (-incoming fd:N)
	// Seed is a raw ISO (a NoCloud cidata seed or a config-2 config drive) attached read-only as the
	// last device of the root bus; "" attaches none.
	Seed string
	// HotplugPorts is how many spare PCIe root ports the machine gets (0..MaxHotplugPorts): q35's root
	// bus takes no hot-plugged devices, so disks and NICs attached later go into these (HotplugPortID).
	HotplugPorts int
}

// MaxHotplugPorts is the number of functions of the one PCI slot that holds the spare root ports.
const MaxHotplugPorts = 8

// HotplugPortID is the id of spare root port i, the bus a hot-plugged device is added on.
func HotplugPortID(i int) string { return "hp" + strconv.Itoa(i) }

// Firmware selects the boot firmware.
type Firmware struct {
	Kind string // FirmwareBIOS or FirmwareUEFI
	Code string // UEFI only: the read-only firmware code image (e.g. OVMF_CODE_4M.fd)
	Vars string // UEFI only: this instance's own writable copy of the variable store
}

// Disk is one virtio-blk disk.
type Disk struct {
	Name      string // [a-z0-9-]{1,26}: the device is DeviceID(), its block nodes NodeName() and FileNodeName()
	Path      string // absolute path of the image
	Format    string // FormatQcow2 or FormatRaw
	ReadOnly  bool
	BootIndex int    // firmware boot order, 1 first; 0 means not bootable
	Serial    string // optional, [A-Za-z0-9._-]{0,20}: the guest's /dev/disk/by-id name
	Bus       string // "" for the root bus (cannot be unplugged), or a HotplugPortID below Spec.HotplugPorts
}

// NodeName is the disk's format block node, the one QMP block commands name.
func (d Disk) NodeName() string { return "disk-" + d.Name }

// FileNodeName is the disk's protocol (file) block node below NodeName.
func (d Disk) FileNodeName() string { return "file-" + d.Name }

// DeviceID is the disk's qdev id (for device_del).
func (d Disk) DeviceID() string { return "disk-" + d.Name }

// NIC is one virtio-net NIC backed by a tap device that the caller opened.
type NIC struct {
	Name    string // [a-z0-9-]{1,32}: netdev NetdevID(), device DeviceID()
	MAC     string // unicast MAC, e.g. 52:54:00:12:34:56
	TapFD   int    // the tap fd's number inside QEMU: 3+i for StartOptions.ExtraFiles[i]
	VhostFD int    // the /dev/vhost-net fd's number inside QEMU; 0 means no vhost
}

// NetdevID is the NIC's -netdev id.
func (n NIC) NetdevID() string { return "net-" + n.Name }

// DeviceID is the NIC's qdev id.
func (n NIC) DeviceID() string { return "nic-" + n.Name }

// Paths are one instance's files. RunDir is volatile (a tmpfs under /run); StateDir survives reboots.
type Paths struct {
	RunDir     string // 0700, removed by Cleanup
	StateDir   string // 0700, kept by Cleanup
	QMP        string // QMP monitor socket
	VNC        string // VNC socket
	Console    string // serial console socket
	Agent      string // guest agent channel socket
	Ready      string // org.cloudlet.ready channel socket: the guest says it is up (ReadyPortName)
	PIDFile    string // written by Start
	ConsoleLog string // serial console output, appended
	StderrLog  string // QEMU's stdout and stderr
}

// PathsFor lays out an instance's files in its run and state directories (the caller passes the
// per-instance directories, e.g. /run/cloudlet/instances/<uuid> and /var/lib/cloudlet/instances/<uuid>).
func PathsFor(runDir, stateDir string) Paths {
	return Paths{
		RunDir:     runDir,
		StateDir:   stateDir,
		QMP:        filepath.Join(runDir, "qmp.sock"),
		VNC:        filepath.Join(runDir, "vnc.sock"),
		Console:    filepath.Join(runDir, "console.sock"),
		Agent:      filepath.Join(runDir, "agent.sock"),
		Ready:      filepath.Join(runDir, "ready.sock"),
		PIDFile:    filepath.Join(runDir, "qemu.pid"),
		StderrLog:  filepath.Join(runDir, "qemu.log"),
		ConsoleLog: filepath.Join(stateDir, "console.log"),
	}
}

// sockets are the unix sockets QEMU creates in the run directory.
func (p Paths) sockets() []string { return []string{p.QMP, p.VNC, p.Console, p.Agent, p.Ready} }

// ReadyPortName is the name of the virtio-serial port on which a guest says it is up (Paths.Ready on
// the host, /dev/virtio-ports/org.cloudlet.ready in a guest with udev).
const ReadyPortName = "org.cloudlet.ready"
