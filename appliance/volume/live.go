package volume

import "context"

// Live is what the service needs from compute for a volume attached to an instance whose QEMU may
// be running: the same operation done by QEMU on its open image (block_resize, block_set_io_throttle,
// blockdev-snapshot). It is declared here and implemented by compute, wired in appliance.
//
// Each method returns an error wrapping ErrNotRunning when the instance has no running QEMU; the
// service then does the offline work itself (qemu-img resize; nothing for throttling, which DiskFor
// carries to the next start; file renames for a snapshot). Any other error aborts the operation.
type Live interface {
	// Resize grows the volume's disk in the running guest to bytes (block_resize).
	Resize(ctx context.Context, instanceID, volumeID string, bytes int64) error
	// Throttle applies q to the volume's disk in the running guest (block_set_io_throttle); zero
	// fields mean unlimited.
	Throttle(ctx context.Context, instanceID, volumeID string, q QoS) error
	// Snapshot makes QEMU write to overlayPath from now on: blockdev-add the file (format qcow2,
	// backing null) and blockdev-snapshot it on top of the volume's current node. The overlay exists
	// already, owned by the QEMU user, its header naming the current file's future name as backing
	// (the service renames the current file before the call and the overlay to active.qcow2 after
	// it, so compute must refer to nodes by node name, never by file name, from then on).
	Snapshot(ctx context.Context, instanceID, volumeID, overlayPath string) error
}
