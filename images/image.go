package images

import "cloudlet/store"

// Image is an image record. Its files live in <Dir>/<ID>/.
type Image struct {
	store.Meta
	Status          string            `json:"status"`           // one of the Status* constants (Glance's statuses)
	DiskFormat      string            `json:"disk_format"`      // what the stored disk is: FormatQcow2, FormatRaw or FormatISO
	ContainerFormat string            `json:"container_format"` // ContainerBare; ContainerOVA only until the OVA is unpacked
	Size            int64             `json:"size"`             // bytes of the stored disk file
	VirtualSize     int64             `json:"virtual_size"`     // bytes, as qemu-img info reports it
	Checksum        string            `json:"checksum"`         // sha256 of the stored disk file, lower-case hex
	MinDiskGiB      int               `json:"min_disk_gib"`
	MinRAMMiB       int               `json:"min_ram_mib"`
	Visibility      string            `json:"visibility"`        // VisibilityPrivate, VisibilityShared or VisibilityPublic
	Members         []Member          `json:"members,omitempty"` // with VisibilityShared: the projects it is shared with (a recipient sees only itself)
	Protected       bool              `json:"protected"`         // refuses Delete while set
	Firmware        string            `json:"firmware"`          // FirmwareBIOS or FirmwareUEFI
	HasKernel       bool              `json:"has_kernel"`        // direct kernel boot: a kernel file beside the disk
	HasInitrd       bool              `json:"has_initrd"`
	Cmdline         string            `json:"cmdline,omitempty"` // kernel command line for direct boot
	Properties      map[string]string `json:"properties,omitempty"`
	Tags            []string          `json:"tags,omitempty"`           // Glance's image tags: free labels, no repeats
	Source          string            `json:"source,omitempty"`         // SourceFile, SourceUpload or SourceURL
	BytesReceived   int64             `json:"bytes_received,omitempty"` // progress while saving
	ReservedBytes   int64             `json:"reserved_bytes,omitempty"` // while saving: bytes held against the image_gigabytes quota
	Fault           string            `json:"fault,omitempty"`          // why the import failed, when killed
}

// Image statuses, as Glance names them.
const (
	StatusQueued  = "queued"  // the record exists, no data yet
	StatusSaving  = "saving"  // data is being received, inspected or converted
	StatusActive  = "active"  // usable
	StatusKilled  = "killed"  // the import failed (Fault says why); no file is left
	StatusDeleted = "deleted" // a delete is removing the files
)

// Disk formats. Qcow2, raw and iso are stored as they come; vmdk, vhdx and vdi are accepted only
// by conversion to qcow2 after inspection, and the record then says qcow2.
const (
	FormatQcow2 = "qcow2"
	FormatRaw   = "raw"
	FormatISO   = "iso"
	FormatVMDK  = "vmdk"
	FormatVHDX  = "vhdx"
	FormatVDI   = "vdi"
)

// Container formats: a bare disk file, or an OVA (a tar holding an OVF descriptor and VMDK disks)
// that is unpacked into one image per disk.
const (
	ContainerBare = "bare"
	ContainerOVA  = "ova"
)

// Visibilities.
const (
	VisibilityPrivate = "private" // the owning project only
	VisibilityShared  = "shared"  // the owning project and its Members
	VisibilityPublic  = "public"  // every project
)

// Firmwares.
const (
	FirmwareBIOS = "bios"
	FirmwareUEFI = "uefi"
)

// Where an image's data came from. Reconcile treats them differently: a queued upload is waiting
// for its data and survives a restart; an interrupted file import leaves nothing behind.
const (
	SourceFile   = "file"   // ImportFile: a file on the host
	SourceUpload = "upload" // Create, then Upload
	SourceURL    = "url"    // ImportURL
)

// PropCDROMBus is Nova's image property that picks the bus of the CD-ROM drive an ISO goes in
// (compute checks its value: sata, ide or scsi).
const PropCDROMBus = "hw_cdrom_bus"

// PropOriginalDiskFormat is the property that keeps the format an image was converted from.
const PropOriginalDiskFormat = "original_disk_format"

// File names inside an image directory.
const (
	fileDisk   = "disk"
	fileKernel = "kernel"
	fileInitrd = "initrd"
)

var (
	diskFormats      = []string{FormatQcow2, FormatRaw, FormatISO, FormatVMDK, FormatVHDX, FormatVDI}
	containerFormats = []string{ContainerBare, ContainerOVA}
	visibilities     = []string{VisibilityPrivate, VisibilityShared, VisibilityPublic}
	firmwares        = []string{FirmwareBIOS, FirmwareUEFI}
)

// converted reports whether a disk format is accepted only by conversion to qcow2.
func converted(format string) bool {
	return format == FormatVMDK || format == FormatVHDX || format == FormatVDI
}

// driverFormat is the QEMU block driver that reads a stored disk: an ISO is raw to QEMU.
func driverFormat(format string) string {
	if format == FormatISO {
		return FormatRaw
	}
	return format
}

var imageRecords = store.NewKind[Image](store.BucketImages, store.ScopeProject)
