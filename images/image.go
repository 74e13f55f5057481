package images

import "cloudlet/store"

// Image is an image record. Its files live in <Dir>/<ID>/.
type Image struct {
	store.Meta
	Status          string            `json:"status"`           // one of the Status* constants (Glance's statuses)
	DiskFormat      string            `json:"disk_format"`      // FormatQcow2 or FormatRaw
	ContainerFormat string            `json:"container_format"` // always ContainerBare for now
	Size            int64             `json:"size"`             // bytes of the stored disk file
	VirtualSize     int64             `json:"virtual_size"`     // bytes, as qemu-img info reports it
	Checksum        string            `json:"checksum"`         // sha256 of the stored disk file, lower-case hex
	MinDiskGiB      int               `json:"min_disk_gib"`
	MinRAMMiB       int               `json:"min_ram_mib"`
	Visibility      string            `json:"visibility"` // VisibilityPrivate or VisibilityPublic
	Protected       bool              `json:"protected"`  // refuses Delete while set
	Firmware        string            `json:"firmware"`   // FirmwareBIOS or FirmwareUEFI
	HasKernel       bool              `json:"has_kernel"` // direct kernel boot: a kernel file beside the disk
	HasInitrd       bool              `json:"has_initrd"`
	Cmdline         string            `json:"cmdline,omitempty"` // kernel command line for direct boot
	Properties      map[string]string `json:"properties,omitempty"`
}

// Image statuses, as Glance names them.
const (
	StatusQueued  = "queued"  // the record exists, no data yet
	StatusSaving  = "saving"  // data is being copied and inspected
	StatusActive  = "active"  // usable
	StatusKilled  = "killed"  // the import failed; the record is about to be removed
	StatusDeleted = "deleted" // a delete is removing the files
)

// Disk formats. Only these are accepted; iso and converted formats come with upload and import.
const (
	FormatQcow2 = "qcow2"
	FormatRaw   = "raw"
)

// ContainerBare is the only container format: the disk file is the image.
const ContainerBare = "bare"

// Visibilities.
const (
	VisibilityPrivate = "private" // the owning project only
	VisibilityPublic  = "public"  // every project
)

// Firmwares.
const (
	FirmwareBIOS = "bios"
	FirmwareUEFI = "uefi"
)

// File names inside an image directory.
const (
	fileDisk   = "disk"
	fileKernel = "kernel"
	fileInitrd = "initrd"
)

var (
	diskFormats  = []string{FormatQcow2, FormatRaw}
	visibilities = []string{VisibilityPrivate, VisibilityPublic}
	firmwares    = []string{FirmwareBIOS, FirmwareUEFI}
)

var imageRecords = store.NewKind[Image](store.BucketImages, store.ScopeProject)
