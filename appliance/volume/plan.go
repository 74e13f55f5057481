package volume

import (
	"context"
	"path/filepath"

	"cloudlet/store"
)

// plan is what a create will do, decided in the transaction that records its intent.
type plan struct {
	vol        *Volume
	pool       *Pool
	from       string // the file to overlay or copy; "" for an empty volume
	fromFormat string
	fromSize   int64  // the source's virtual size, bytes
	source     string // ID of a full-copy clone's source volume, held by its copy task
}

// resolveImage asks the image service for an image's file ("" ref: none).
func (s *Service) resolveImage(ctx context.Context, projectID, ref string) (*ImageFile, error) {
	if ref == "" {
		return nil, nil
	}
	if s.images == nil {
		return nil, faultf(ErrUnavailable, "volumes cannot be made from images: no image source is configured")
	}
	img, err := s.images(ctx, projectID, ref)
	if err != nil {
		return nil, err
	}
	switch img.Format {
	case "qcow2", "raw":
	case "iso":
		img.Format = "raw" // an ISO 9660 file is a raw disk to QEMU
	default:
		return nil, faultf(ErrInvalid, "image %s has format %s: volumes take raw, qcow2 or iso images", ref, quoteShort(img.Format))
	}
	if img.ID == "" || !filepath.IsAbs(img.Path) || img.VirtualSize <= 0 {
		return nil, faultf(ErrInvalid, "image %s: the image source returned no usable file", ref)
	}
	return &img, nil
}

// plan decides the new volume's record and files, checking the pool, the source, the size and
// the space. A full-copy clone's source gets its copy task here, in the same transaction.
func (s *Service) plan(tx *store.Tx, projectID string, a createArgs, img *ImageFile) (*plan, error) {
	pool, err := findPool(tx, a.Pool)
	if err != nil {
		return nil, err
	}
	v := &Volume{
		Meta:        store.Meta{ID: a.id, Name: a.Name, ProjectID: projectID},
		PoolID:      pool.ID,
		Status:      StatusCreating,
		FullCopy:    a.FullCopy,
		Path:        firstPath(volumeDir(pool, a.id)),
		Description: a.Description,
		Metadata:    a.Metadata,
	}
	p := &plan{vol: v, pool: pool}
	bootable := false
	switch {
	case img != nil:
		v.Source.ImageID, bootable = img.ID, true
		p.from, p.fromFormat, p.fromSize = img.Path, img.Format, img.VirtualSize
		if !a.FullCopy {
			v.Backing, v.BackingFormat, v.Depth, v.BaseImageID = img.Path, img.Format, 1, img.ID
		}
	case a.SnapshotID != "":
		if bootable, err = p.fromSnapshot(tx, projectID, a); err != nil {
			return nil, err
		}
	case a.VolumeID != "":
		if bootable, err = p.fromVolume(tx, projectID, a); err != nil {
			return nil, err
		}
	}
	v.Bootable = bootable
	if a.Bootable != nil {
		v.Bootable = *a.Bootable
	}
	if err := p.size(a); err != nil {
		return nil, err
	}
	return p, p.checkSpace(tx)
}

// fromSnapshot plans a volume made from one of the project's snapshots.
func (p *plan) fromSnapshot(tx *store.Tx, projectID string, a createArgs) (bool, error) {
	sn, err := snapshots.Lookup(tx, projectID, a.SnapshotID)
	if err != nil {
		return false, err
	}
	if sn.Status != StatusAvailable {
		return false, faultf(ErrConflict, "snapshot %s is %s, not available", sn.Name, sn.Status)
	}
	owner, err := volumes.Get(tx, sn.VolumeID)
	if err != nil {
		return false, err
	}
	v := p.vol
	v.Source = Source{SnapshotID: sn.ID, VolumeID: a.cloneSrc}
	p.from, p.fromFormat, p.fromSize = sn.Path, "qcow2", int64(sn.SizeGiB)*GiB
	if !a.FullCopy {
		v.Backing, v.BackingFormat, v.Depth, v.BaseImageID = sn.Path, "qcow2", sn.Depth+1, sn.BaseImageID
	}
	return owner.Bootable, nil
}

// fromVolume plans a full copy of one of the project's volumes, which must be available; it is
// held in maintenance (task copy) until the copy ends.
func (p *plan) fromVolume(tx *store.Tx, projectID string, a createArgs) (bool, error) {
	src, err := volumes.Lookup(tx, projectID, a.VolumeID)
	if err != nil {
		return false, err
	}
	err = save(tx, src, func(*store.Tx, *Volume) error { return begin(src, taskCopy, "copy", StatusAvailable) })
	if err != nil {
		return false, err
	}
	p.vol.Source.VolumeID, p.source = src.ID, src.ID
	p.from, p.fromFormat, p.fromSize = src.Path, "qcow2", src.bytes()
	return src.Bootable, nil
}

// size settles the volume's size: the source's by default, never smaller, within the bounds of
// the pool's cluster size.
func (p *plan) size(a createArgs) error {
	v := p.vol
	min := int((p.fromSize + GiB - 1) / GiB)
	switch {
	case a.SizeGiB == 0:
		v.SizeGiB = min
	case a.SizeGiB < min:
		return faultf(ErrInvalid, "volume %s: size_gib %d is smaller than its source (%d bytes)", v.Name, a.SizeGiB, p.fromSize)
	default:
		v.SizeGiB = a.SizeGiB
	}
	if max := maxBytes(p.pool.ClusterSize); v.bytes() > max || v.SizeGiB < 1 {
		return faultf(ErrInvalid, "volume %s: size_gib %d is out of bounds for pool %s (1 to %d)", v.Name, v.SizeGiB, p.pool.Name, max/GiB)
	}
	return nil
}

// maxBytes is the largest qcow2 file with clusters of cs bytes (QEMU caps the L1 table at 32 MiB:
// 2^22 entries, each mapping cs/8 clusters), capped at MaxSizeGiB.
func maxBytes(cs int64) int64 {
	return min(int64(MaxSizeGiB)*GiB, (1<<19)*cs*cs)
}

// checkSpace refuses a create the pool's filesystem cannot hold: a full preallocation needs the
// whole size, a full copy what the source's chain occupies.
func (p *plan) checkSpace(tx *store.Tx) error {
	v := p.vol
	var need int64
	standalone := p.from == "" || v.FullCopy
	if standalone && p.pool.Preallocation == PreallocFull {
		need = v.bytes()
	}
	if v.FullCopy {
		g, err := loadGraph(tx)
		if err != nil {
			return err
		}
		var used int64
		for _, f := range chainFiles(g, p.from) {
			used += allocated(f)
		}
		need = max(need, min(used, v.bytes()))
	}
	if need == 0 {
		return nil
	}
	return checkSpace(p.pool, need, "volume "+v.Name)
}

// chainFiles lists a file and every file under it, as the catalog knows them.
func chainFiles(g *graph, top string) []string {
	files := []string{top}
	backing := ""
	if sn, ok := g.byPath[top]; ok {
		backing = sn.Backing
	}
	for _, v := range g.vols {
		if v.Path == top {
			backing = v.Backing
		}
	}
	under := g.under(backing)
	for _, sn := range under {
		files = append(files, sn.Path)
	}
	if len(under) > 0 {
		backing = under[len(under)-1].Backing
	}
	if backing != "" {
		files = append(files, backing)
	}
	return files
}

// findPool returns the pool named by ref, or the default pool for "".
func findPool(tx *store.Tx, ref string) (*Pool, error) {
	if ref == "" {
		return defaultPool(tx)
	}
	return pools.Lookup(tx, "", ref)
}
