package volume

import "context"

// Live is what the service needs from compute for a volume attached to an instance whose QEMU may
// be running: the same operation done by QEMU on its open image (block_resize, block_set_io_throttle,
// blockdev-snapshot). It is declared here and implemented by compute, wired in appliance.
//
// Each method returns an error wrapping ErrNotRunning when the instance has no running QEMU; the
// service then does the offline work itself (qemu-img resize; nothing for throttling, which DiskFor
// carries to the next start; only the file steps for a snapshot; qemu-img convert for a stream). Any other error aborts the operation.
type Live interface {
	// Resize grows the volume's disk in the running guest to bytes (block_resize).
	Resize(ctx context.Context, instanceID, volumeID string, bytes int64) error
	// Throttle applies q to the volume's disk in the running guest (block_set_io_throttle); zero
	// fields mean unlimited.
	Throttle(ctx context.Context, instanceID, volumeID string, q QoS) error
	// Snapshot makes QEMU write to overlayPath from now on: blockdev-add the file (format qcow2,
	// backing null) and blockdev-snapshot it on top of the volume's current node. The overlay exists
	// already under its final name, owned by the QEMU user, its header naming the current active
	// file (relative) as backing. The service never renames a file QEMU may have open: the current
	// active file stays where it is and becomes the snapshot's file.
	Snapshot(ctx context.Context, instanceID, volumeID, overlayPath string) error
	// Stream flattens the volume's disk in the running guest: block-stream on its top node with no
	// base, so the active file takes in its whole backing chain and has no backing file left. It
	// returns once the job has completed.
	Stream(ctx context.Context, instanceID, volumeID string) error
}
