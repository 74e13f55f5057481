package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp"
)

// plugDisk hot-adds a disk to the running QEMU on its spare root port: the file node, the format node
// (explicit driver, as at boot) and the virtio-blk device. A failed step undoes the ones before it.
func (sv *supervisor) plugDisk(ctx context.Context, d qemu.Disk) error {
	steps := []struct {
		cmd  string
		args any
		undo func()
	}{
		{"blockdev-add", map[string]any{"driver": "file", "node-name": d.FileNodeName(), "filename": d.Path,
			"read-only": d.ReadOnly}, func() { sv.blockdevDel(d.FileNodeName()) }},
		{"blockdev-add", map[string]any{"driver": d.Format, "node-name": d.NodeName(), "file": d.FileNodeName(),
			"read-only": d.ReadOnly}, func() { sv.blockdevDel(d.NodeName()) }},
		{"device_add", deviceArgs(d), nil},
	}
	for i, st := range steps {
		err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Execute(c, st.cmd, st.args, nil) })
		if err != nil {
			for j := i - 1; j >= 0; j-- {
				steps[j].undo()
			}
			return fmt.Errorf("hot-plug disk %s: %s: %w", d.Name, st.cmd, err)
		}
	}
	return nil
}

func deviceArgs(d qemu.Disk) map[string]any {
	args := map[string]any{"driver": "virtio-blk-pci", "id": d.DeviceID(), "drive": d.NodeName(), "bus": d.Bus}
	if d.Serial != "" {
		args["serial"] = d.Serial
	}
	return args
}

// unplugDisk asks the guest to release the device until it does, then drops its block nodes.
func (sv *supervisor) unplugDisk(ctx context.Context, d qemu.Disk) error {
	if err := sv.unplugDevice(ctx, d.DeviceID()); err != nil {
		return fmt.Errorf("unplug disk %s: %w", d.Name, err)
	}
	sv.dropNodes(ctx, d)
	return nil
}

// unplugDevice sends device_del and waits for DEVICE_DELETED, sending it again every UnplugRetry
// within UnplugTimeout; a guest that keeps the device is a conflict (a stopped instance lets it go).
// QEMU asks the guest once per device_del and never again by itself, and a guest can miss the request:
// under ACPI PCI hotplug (q35's default for root ports, what cloudlet's guests use) one that clears the
// hotplug GPE it finds pending, as Linux does while it brings ACPI up, and on a loaded host a detach
// sent two seconds after the attach went unanswered for 30 s (ci30); under native PCIe hotplug Linux's
// pciehp ignores an attention button pressed while the slot's hot-add is still under way. A repeat is
// what QEMU expects of the manager: it re-raises the ACPI event (accepted at once by QEMU 7.2), and on a
// native port QEMU refuses it within 5 s of the last one and while the guest blinks the slot's power
// indicator, so it cannot cancel a removal under way. deviceDel takes those refusals as "ask again".
func (sv *supervisor) unplugDevice(ctx context.Context, id string) error {
	sv.lastDeleted = ""
	deadline := time.Now().Add(sv.s.o.UnplugTimeout)
	for asked := 1; ; asked++ {
		gone, err := sv.deviceDel(ctx, id)
		if gone || err != nil {
			return err
		}
		err = sv.waitDeviceDeleted(ctx, id, min(sv.s.o.UnplugRetry, time.Until(deadline)))
		if !errors.Is(err, errTimeout) {
			return err
		}
		if !time.Now().Before(deadline) {
			return errConflict("the guest did not release device %s within %s (asked %d times); stop the instance to detach it",
				id, sv.s.o.UnplugTimeout, asked)
		}
		sv.s.log.Info("asking the guest again to release a device", "instance", sv.id, "device", id, "asked", asked)
	}
}

// deviceDel asks QEMU to unplug device id. It reports gone when QEMU has no such device (a retry
// after it went), and no error when QEMU keeps the request for later: an unplug of the device pending
// (asked less than 5 s ago) or a guest busy with the slot.
func (sv *supervisor) deviceDel(ctx context.Context, id string) (gone bool, err error) {
	err = sv.qmpCall(ctx, func(c context.Context) error {
		return sv.mon.Execute(c, "device_del", map[string]string{"id": id}, nil)
	})
	var qerr *qmp.Error
	switch {
	case errors.As(err, &qerr) && qerr.Class == "DeviceNotFound":
		return true, nil
	case errors.As(err, &qerr) && (strings.Contains(qerr.Desc, "already in the process of unplug") ||
		strings.Contains(qerr.Desc, "guest is busy")):
		return false, nil
	}
	return false, err
}

// overlayPrefix starts the node names of a disk's live-snapshot overlays, so they can be found again.
func overlayPrefix(d qemu.Disk) string { return "ovl-" + d.Name + "-" }

// dropNodes deletes the block nodes the monitor added for an unplugged disk: its snapshot overlays (top
// first: a node still under another cannot go yet, so it retries) and then its format and file nodes.
func (sv *supervisor) dropNodes(ctx context.Context, d qemu.Disk) {
	var nodes []struct {
		NodeName string `json:"node-name"`
	}
	err := sv.qmpCall(ctx, func(c context.Context) error {
		return sv.mon.Execute(c, "query-named-block-nodes", map[string]bool{"flat": true}, &nodes)
	})
	if err != nil {
		sv.s.log.Warn("list block nodes", "instance", sv.id, "err", err)
	}
	var left []string
	for _, n := range nodes {
		if strings.HasPrefix(n.NodeName, overlayPrefix(d)) {
			left = append(left, n.NodeName)
		}
	}
	left = append(left, d.NodeName(), d.FileNodeName())
	for round := 0; round <= len(left) && len(left) > 0; round++ {
		var still []string
		for _, node := range left {
			if err := sv.tryBlockdevDel(node); err != nil {
				still = append(still, node)
			}
		}
		left = still
	}
	for _, node := range left {
		sv.s.log.Warn("block node left behind after unplug", "instance", sv.id, "node", node)
	}
}

func (sv *supervisor) tryBlockdevDel(node string) error {
	return sv.qmpCall(context.Background(), func(c context.Context) error {
		return sv.mon.Execute(c, "blockdev-del", map[string]string{"node-name": node}, nil)
	})
}

func (sv *supervisor) waitDeviceDeleted(ctx context.Context, id string, limit time.Duration) error {
	return sv.waitFor(ctx, "DEVICE_DELETED of "+id, limit, func(ev qmp.Event) (bool, error) {
		return ev.Name == qmp.EventDeviceDeleted && sv.lastDeleted == id, nil
	})
}

func (sv *supervisor) blockdevDel(node string) {
	if err := sv.tryBlockdevDel(node); err != nil {
		sv.s.log.Warn("blockdev-del", "instance", sv.id, "node", node, "err", err)
	}
}

// topNode is the block node a device reads from now (after live snapshots it is no longer the one
// attached at plug time).
func (sv *supervisor) topNode(ctx context.Context, deviceID string) (string, error) {
	var blocks []struct {
		Qdev     string `json:"qdev"`
		Inserted struct {
			NodeName string `json:"node-name"`
		} `json:"inserted"`
	}
	err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Execute(c, "query-block", nil, &blocks) })
	if err != nil {
		return "", err
	}
	for _, b := range blocks {
		if b.Qdev == deviceID || b.Qdev == "/machine/peripheral/"+deviceID+"/virtio-backend" {
			return b.Inserted.NodeName, nil
		}
	}
	return "", fmt.Errorf("no block device %s in QEMU", deviceID)
}

// resizeDisk grows a disk under the running guest (block_resize on its top node).
func (sv *supervisor) resizeDisk(ctx context.Context, deviceID string, bytes int64) error {
	node, err := sv.topNode(ctx, deviceID)
	if err != nil {
		return err
	}
	return sv.qmpCall(ctx, func(c context.Context) error {
		return sv.mon.Execute(c, "block_resize", map[string]any{"node-name": node, "size": bytes}, nil)
	})
}

// DiskQoS are I/O limits; zero means unlimited.
type DiskQoS struct {
	ReadIOPS, WriteIOPS, ReadBytesSec, WriteBytesSec int64
}

// throttleDisk applies I/O limits to a running disk.
func (sv *supervisor) throttleDisk(ctx context.Context, deviceID string, q DiskQoS) error {
	// The block backend belongs to the virtio-blk device inside the PCI proxy that has our id.
	args := map[string]any{"id": "/machine/peripheral/" + deviceID + "/virtio-backend", "bps": 0, "bps_rd": q.ReadBytesSec, "bps_wr": q.WriteBytesSec,
		"iops": 0, "iops_rd": q.ReadIOPS, "iops_wr": q.WriteIOPS}
	return sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Execute(c, "block_set_io_throttle", args, nil) })
}

// snapshotDisk switches a running disk to a new, already created overlay (whose backing file is the
// disk's current top image): blockdev-add the overlay without opening its backing, then blockdev-snapshot.
func (sv *supervisor) snapshotDisk(ctx context.Context, deviceID, overlay, node string) error {
	top, err := sv.topNode(ctx, deviceID)
	if err != nil {
		return err
	}
	add := map[string]any{"driver": "qcow2", "node-name": node, "backing": nil,
		"file": map[string]any{"driver": "file", "filename": overlay}}
	if err := sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Execute(c, "blockdev-add", add, nil) }); err != nil {
		return fmt.Errorf("open snapshot overlay: %w", err)
	}
	err = sv.qmpCall(ctx, func(c context.Context) error {
		return sv.mon.Execute(c, "blockdev-snapshot", map[string]string{"node": top, "overlay": node}, nil)
	})
	if err != nil {
		sv.blockdevDel(node)
		return fmt.Errorf("switch to snapshot overlay: %w", err)
	}
	return nil
}

// streamTimeout bounds a block-stream job (it copies the whole chain under the top image).
const streamTimeout = time.Hour

// streamDisk pulls everything under a running disk's top image into it (block-stream, no base), so
// the top image stands alone and its backing files are closed; it waits for the job to end.
func (sv *supervisor) streamDisk(ctx context.Context, diskName, deviceID string) error {
	top, err := sv.topNode(ctx, deviceID)
	if err != nil {
		return err
	}
	job := "stream-" + diskName
	err = sv.qmpCall(ctx, func(c context.Context) error {
		return sv.mon.Execute(c, "block-stream", map[string]any{"job-id": job, "device": top}, nil)
	})
	if err != nil {
		return fmt.Errorf("block-stream: %w", err)
	}
	return sv.waitJob(ctx, job, streamTimeout)
}

// waitJob waits for block job job to end, passing every event through sv.note: nil on
// BLOCK_JOB_COMPLETED without an error, an error on BLOCK_JOB_ERROR, BLOCK_JOB_CANCELLED or a
// completion that reports one.
func (sv *supervisor) waitJob(ctx context.Context, job string, d time.Duration) error {
	return sv.waitFor(ctx, "block job "+job, d, func(ev qmp.Event) (bool, error) { return jobEnded(ev, job) })
}

// jobEnded reports whether ev ends block job job, and with which error.
func jobEnded(ev qmp.Event, job string) (bool, error) {
	switch ev.Name {
	case qmp.EventBlockJobCompleted, qmp.EventBlockJobCancelled, qmp.EventBlockJobError:
	default:
		return false, nil
	}
	var data struct {
		Device    string `json:"device"`
		Error     string `json:"error"`
		Operation string `json:"operation"`
		Action    string `json:"action"`
	}
	if json.Unmarshal(ev.Data, &data) != nil || data.Device != job {
		return false, nil
	}
	switch {
	case ev.Name == qmp.EventBlockJobCancelled:
		return true, fmt.Errorf("block job %s was cancelled", job)
	case ev.Name == qmp.EventBlockJobError:
		return true, fmt.Errorf("block job %s: I/O error on %s (action %s)", job, data.Operation, data.Action)
	case data.Error != "":
		return true, fmt.Errorf("block job %s: %s", job, data.Error)
	}
	return true, nil
}
