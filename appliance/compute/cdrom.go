package compute

import (
	"context"
	"fmt"
	"os"
	"slices"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/qemu"
	"cloudlet/store"
)

// CDROM is an ISO image in one of an instance's CD-ROM drives (read-only). An instance created from an
// ISO image has it in the first drive, booting first, and a blank boot volume of the flavor's disk
// size for its installer to write, as Nova does for ISO images; more ISOs (drivers) are given at
// create with cdroms. Eject empties the drives, live or stopped.
type CDROM struct {
	ImageID string `json:"image_id"`
	Path    string `json:"path"`           // the image's file when it was resolved (as BootSpec's kernel)
	Bus     string `json:"bus"`            // sata (AHCI: every installer reads it) or scsi (virtio-scsi), from hw_cdrom_bus
	Boot    bool   `json:"boot,omitempty"` // the installer: boots before the boot volume
}

// cdromOf makes the drive of an ISO image, on the bus its hw_cdrom_bus property names (Nova's values;
// ide is SATA on this q35 machine, which has no IDE controller). Another bus is refused.
func cdromOf(img BootImage, ref string) (CDROM, error) {
	cd := CDROM{ImageID: img.ID, Path: img.Disk}
	switch img.CDROMBus {
	case "", "sata", "ide":
		cd.Bus = qemu.CDBusSATA
	case "scsi":
		cd.Bus = qemu.CDBusSCSI
	default:
		return CDROM{}, errInvalid("image %q: hw_cdrom_bus %q: a CD-ROM drive here is sata (or ide, the same) or scsi", ref, img.CDROMBus)
	}
	return cd, nil
}

// cdromHolds is what an instance holds in the catalog (store's holds, kept with its record): the images
// in its CD-ROM drives. The image service refuses their delete until an eject (or the instance's
// delete) lets go, and a create cannot take an image whose delete has begun.
func cdromHolds(inst *Instance) []store.Ref {
	var refs []store.Ref
	for _, cd := range inst.CDROMs {
		ref := store.Ref{Bucket: store.BucketImages, ID: cd.ImageID}
		if !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	return refs
}

// resolveCDROMs makes the CD-ROM drives of a new instance: the boot image first when it is an ISO, then
// the ISOs asked for. An image that is not an ISO, or one more than the drives, is refused.
func (s *Service) resolveCDROMs(ctx context.Context, r CreateRequest, img BootImage) ([]CDROM, error) {
	var cds []CDROM
	if img.ISO {
		cd, err := cdromOf(img, r.Image)
		if err != nil {
			return nil, err
		}
		cd.Boot = true
		cds = append(cds, cd)
	}
	if len(cds)+len(r.CDROMs) > qemu.MaxCDROMs {
		return nil, errInvalid("an instance has at most %d CD-ROMs (the ISO it boots from counts)", qemu.MaxCDROMs)
	}
	for _, ref := range r.CDROMs {
		iso, err := s.o.Images(ctx, r.ProjectID, ref)
		if fault.KindOf(err) == fault.NotFound {
			return nil, errInvalid("cdroms: unknown image %q", ref)
		} else if err != nil {
			return nil, err
		}
		if !iso.ISO {
			return nil, errInvalid("cdroms: image %q is not an ISO (disk_format iso): only ISOs go in a CD-ROM drive", ref)
		}
		cd, err := cdromOf(iso, ref)
		if err != nil {
			return nil, err
		}
		cds = append(cds, cd)
	}
	return cds, nil
}

// checkISOBoot refuses an ISO boot image with a flavor that has no disk: the installer needs a target.
func checkISOBoot(f *Flavor, img BootImage) error {
	if img.ISO && f.DiskGiB <= 0 {
		return errInvalid("image %s is an ISO: the instance gets a blank disk of its flavor's size to install onto, and flavor %s has none (disk 0)", img.ID, f.Name)
	}
	return nil
}

// insertCDROMs is the launch step that puts the recorded ISOs in the CD-ROM drives, the installer
// booting first. It makes nothing, so it undoes nothing; a missing ISO fails the start, whose earlier
// steps are undone (a blank boot volume made for it is deleted again).
func (l *launch) insertCDROMs(context.Context) error {
	var cds []qemu.CDROM
	for i, cd := range l.inst.CDROMs {
		if st, err := os.Stat(cd.Path); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("the ISO of image %s in CD-ROM drive %d is gone (eject it, or delete the instance): %v", cd.ImageID, i, err)
		}
		c := qemu.CDROM{Path: cd.Path, Bus: cd.Bus}
		if cd.Boot {
			c.BootIndex = 1
			l.bootAfterCD()
		}
		cds = append(cds, c)
	}
	l.spec.CDROMs = cds
	return nil
}

// bootAfterCD moves the disks' boot indexes one back, so the installer CD boots first and the disk
// it installed onto second.
func (l *launch) bootAfterCD() {
	for i := range l.spec.Disks {
		if l.spec.Disks[i].BootIndex > 0 {
			l.spec.Disks[i].BootIndex++
		}
	}
}

// Eject empties the CD-ROM drives of an instance of the project: live (QMP eject, forced: a guest's
// lock on the tray does not hold it) when QEMU runs, and in the record, so the next boot has none. A
// suspended instance must resume first: it restores with exactly the devices it was saved with.
func (s *Service) Eject(ctx context.Context, projectID, idOrName string) (*Instance, error) {
	inst, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return nil, err
	}
	if len(inst.CDROMs) == 0 {
		return nil, errConflict("instance %s has no CD-ROM to eject", inst.Name)
	}
	if err := canChangeDisks(inst); err != nil {
		return nil, err
	}
	var out *Instance
	err = s.call(ctx, inst.ID, func(ctx context.Context, sv *supervisor) (err error) {
		out, err = sv.eject(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("eject the CD-ROMs of instance %s: %w", inst.Name, err)
	}
	return out, nil
}

// eject runs on the supervisor: the running QEMU's drives are emptied first, then the record forgets
// them, with an instance.cdrom_ejected event in the same transaction. A daemon killed between the two
// leaves the record naming the CDs: an eject asked again empties the drives again (QEMU takes that)
// and records it.
func (sv *supervisor) eject(ctx context.Context) (*Instance, error) {
	inst, ok := sv.current()
	if !ok || len(inst.CDROMs) == 0 {
		return nil, errConflict("instance %s has no CD-ROM to eject", sv.id)
	}
	if sv.proc != nil {
		if err := sv.ejectLive(ctx, len(inst.CDROMs)); err != nil {
			return nil, err
		}
	}
	var out *Instance
	err := sv.s.db.Update(func(tx *store.Tx) error {
		cur, err := instances.Get(tx, sv.id)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(cur.CDROMs))
		for _, cd := range cur.CDROMs {
			ids = append(ids, cd.ImageID)
		}
		cur.CDROMs, out = nil, cur
		if err := sv.s.injectedWriteFault(cur); err != nil {
			return err
		}
		if err := instances.Update(tx, cur); err != nil {
			return err
		}
		return appendEvent(tx, "instance.cdrom_ejected", "instance", cur.ID, cur.ProjectID, map[string]any{"image_ids": ids})
	})
	if err != nil {
		return nil, fmt.Errorf("record the eject: %w", err)
	}
	return out, nil
}

// ejectLive empties each of the n drives of the running QEMU and closes the ISO files (blockdev-del
// of the drive's nodes; one already gone is only logged).
func (sv *supervisor) ejectLive(ctx context.Context, n int) error {
	for i := range n {
		id := qemu.CDROMID(i)
		err := sv.qmpCall(ctx, func(c context.Context) error {
			return sv.mon.Execute(c, "eject", map[string]any{"id": id, "force": true}, nil)
		})
		if err != nil {
			return fmt.Errorf("eject %s: %w", id, err)
		}
		sv.blockdevDel(id) // the format node, then its file node: QEMU closes the ISO
		sv.blockdevDel(id + "-file")
	}
	return nil
}
