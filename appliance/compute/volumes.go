package compute

import (
	"context"
	"fmt"
	"slices"

	"cloudlet/appliance/qemu"
)

// Volume is what compute needs of a volume (the volume service's record, adapted in appliance).
type Volume struct {
	ID, Name, ProjectID string
	Path, Format        string // the active file QEMU opens, and its format
	InstanceID          string // the instance it is reserved for or attached to
	Port                string // the spare root port a data volume sits on ("" for the boot volume)
	Boot                bool
	DeleteOnTermination bool
	QoS                 DiskQoS
}

// BootVolumeRequest asks for a new boot volume from an image, reserved for an instance.
type BootVolumeRequest struct {
	ProjectID, InstanceID, Name, Image string
	SizeGiB                            int // 0: the image's size; with no Image, a blank volume of this size
}

// Volumes is the volume service as compute uses it, in three parts. Compute owns attachments on
// running QEMUs; the volume service owns records and files. It never calls compute back: a disk
// change on a running guest (extend, QoS, snapshot) is driven from above, see ResizeVolume.
type Volumes interface {
	BootVolumes
	VolumeAttacher
	VolumeFinder
}

// BootVolumes makes, grows and deletes the volumes compute makes for instances.
type BootVolumes interface {
	CreateBoot(ctx context.Context, r BootVolumeRequest) (Volume, error)
	// Extend grows a volume no QEMU holds (a stopped instance's boot volume on a resize).
	Extend(ctx context.Context, projectID, volumeID string, sizeGiB int) error
	Delete(ctx context.Context, projectID, volumeID string) error
}

// VolumeAttacher records attachments: reserved first, then attached, finally detached.
type VolumeAttacher interface {
	Reserve(ctx context.Context, projectID, ref, instanceID string) (Volume, error)
	Attached(ctx context.Context, volumeID, port string, boot, deleteOnTermination bool) error
	Detached(ctx context.Context, volumeID string) error // attached or reserved → available
}

// VolumeFinder reads volumes.
type VolumeFinder interface {
	Get(ctx context.Context, projectID, ref string) (Volume, error)
	AttachedTo(ctx context.Context, instanceID string) ([]Volume, error)
	// Reservations lists reserved volumes (an attach not done yet) of instanceID, or of all instances
	// with "". A boot volume made for an instance has Boot set already while reserved.
	Reservations(ctx context.Context, instanceID string) ([]Volume, error)
}

// disks are QEMU's disks for the instance's volumes: the boot volume first (boot index 1, root bus),
// data volumes each on its spare root port so they can be unplugged.
func disks(vols []Volume) []qemu.Disk {
	var out []qemu.Disk
	for _, v := range vols {
		out = append(out, diskOf(v))
	}
	return out
}

func diskOf(v Volume) qemu.Disk {
	d := qemu.Disk{Name: v.Port, Path: v.Path, Format: v.Format, Bus: v.Port, Serial: serialOf(v.ID)}
	if v.Boot {
		d.Name, d.Bus, d.BootIndex = "root", "", 1
	}
	return d
}

// serialOf is the guest-visible serial (/dev/disk/by-id/virtio-<serial>): the volume id's first 20 chars.
func serialOf(id string) string {
	if len(id) > 20 {
		return id[:20]
	}
	return id
}

// freePort returns a spare root port no attached volume uses.
func freePort(vols []Volume) (string, error) {
	for i := range qemu.MaxHotplugPorts {
		port := qemu.HotplugPortID(i)
		if !slices.ContainsFunc(vols, func(v Volume) bool { return v.Port == port }) {
			return port, nil
		}
	}
	return "", errConflict("no free slot: at most %d volumes can be attached besides the boot volume", qemu.MaxHotplugPorts)
}

// bootVolume returns the boot volume among vols.
func bootVolume(vols []Volume) (Volume, error) {
	for _, v := range vols {
		if v.Boot {
			return v, nil
		}
	}
	return Volume{}, fmt.Errorf("no boot volume attached")
}
