package images

import "encoding/binary"

// Where a qcow2 header names its metadata tables, and QEMU's own bounds on them (block/qcow2.h).
// QEMU opens an image whose tables lie past the end of the file (a truncated upload reads as
// zeros, or fails in the guest), so the bounds and the file's length are checked here.
const (
	offL1Size          = 36
	offL1Offset        = 40
	offRefcountOffset  = 48
	offRefcountCluster = 56
	offNbSnapshots     = 60
	offSnapshotsOffset = 64
	offRefcountOrder   = 96

	qcow2MaxL1Bytes        = 32 << 20 // QCOW_MAX_L1_SIZE
	qcow2MaxRefcountBytes  = 8 << 20  // QCOW_MAX_REFTABLE_SIZE
	qcow2MaxSnapshots      = 65536    // QCOW_MAX_SNAPSHOTS
	qcow2SnapshotMinLen    = 40       // the fixed part of one snapshot table entry
	qcow2MaxRefcountOrder  = 6        // 64-bit refcounts
	qcow2MaxBitmaps        = 65535    // QCOW2_MAX_BITMAPS
	qcow2MaxBitmapDirBytes = 1024 * qcow2MaxBitmaps

	extBitmaps = 0x23852875 // names the bitmap directory: count, reserved, size, offset
)

// qcow2Table is one metadata table the header points at: its byte range in the file.
type qcow2Table struct {
	name         string
	offset, size uint64
	max          uint64 // the most bytes QEMU accepts for it
}

// checkTables checks that every table the header names starts on a cluster boundary after the
// header cluster, is no larger than QEMU allows, ends inside the file, and overlaps no other
// table; and that the L1 table covers the virtual size.
func (h *qcow2Header) checkTables() error {
	if h.refcountOrder > qcow2MaxRefcountOrder {
		return faultf(ErrUnsafe, "qcow2 refcount order %d is over %d", h.refcountOrder, qcow2MaxRefcountOrder)
	}
	if h.refcountClusters == 0 {
		return faultf(ErrUnsafe, "qcow2 image has no refcount table")
	}
	if need := h.l1Needed(); uint64(h.l1Size) < need {
		return faultf(ErrUnsafe, "qcow2 L1 table of %d entries is too small for a virtual size of %d bytes (needs %d)", h.l1Size, h.size, need)
	}
	if h.nbSnapshots > qcow2MaxSnapshots {
		return faultf(ErrUnsafe, "qcow2 image has %d snapshots, over %d", h.nbSnapshots, qcow2MaxSnapshots)
	}
	tables, err := h.tables()
	if err != nil {
		return err
	}
	for i, t := range tables {
		if err := h.checkTable(t); err != nil {
			return err
		}
		for _, u := range tables[:i] {
			if t.offset < u.offset+u.size && u.offset < t.offset+t.size {
				return faultf(ErrUnsafe, "qcow2 %s overlaps the %s", t.name, u.name)
			}
		}
	}
	return nil
}

// tables lists the non-empty tables the header and its bitmaps extension name.
func (h *qcow2Header) tables() ([]qcow2Table, error) {
	cluster := uint64(1) << h.clusterBits
	all := []qcow2Table{
		{"L1 table", h.l1Offset, uint64(h.l1Size) * 8, qcow2MaxL1Bytes},
		{"refcount table", h.refcountOffset, uint64(h.refcountClusters) * cluster, qcow2MaxRefcountBytes},
		{"snapshot table", h.snapshotsOffset, uint64(h.nbSnapshots) * qcow2SnapshotMinLen, qcow2MaxSnapshots * qcow2SnapshotMinLen},
	}
	bitmaps, ok, err := h.bitmapDirectory()
	if err != nil {
		return nil, err
	}
	if ok {
		all = append(all, bitmaps)
	}
	var tables []qcow2Table
	for _, t := range all {
		if t.size != 0 {
			tables = append(tables, t)
		}
	}
	return tables, nil
}

// checkTable checks one table's alignment, size and end.
func (h *qcow2Header) checkTable(t qcow2Table) error {
	cluster := uint64(1) << h.clusterBits
	switch end := t.offset + t.size; {
	case t.size > t.max:
		return faultf(ErrUnsafe, "qcow2 %s of %d bytes is over QEMU's limit of %d", t.name, t.size, t.max)
	case t.offset%cluster != 0:
		return faultf(ErrUnsafe, "qcow2 %s at offset %d is not on a cluster boundary", t.name, t.offset)
	case t.offset < cluster:
		return faultf(ErrUnsafe, "qcow2 %s at offset %d overlaps the header", t.name, t.offset)
	case end < t.offset || end > h.fileSize:
		return faultf(ErrUnsafe, "qcow2 %s (offset %d, %d bytes) lies past the end of the %d-byte file: the image is truncated",
			t.name, t.offset, t.size, h.fileSize)
	}
	return nil
}

// l1Needed is the number of L1 entries that cover the virtual size: each maps one L2 table of
// a cluster of 8-byte entries (16-byte with extended L2), each entry one cluster.
func (h *qcow2Header) l1Needed() uint64 {
	entry := uint64(8)
	if h.incompatible&incompatExtendedL2 != 0 {
		entry = 16
	}
	cluster := uint64(1) << h.clusterBits
	perL1 := cluster / entry * cluster
	return h.size/perL1 + min(h.size%perL1, 1)
}

// bitmapDirectory finds the bitmaps extension in the header cluster and returns the table it names.
func (h *qcow2Header) bitmapDirectory() (qcow2Table, bool, error) {
	be := binary.BigEndian
	for typ, data := range h.extensions() {
		if typ != extBitmaps {
			continue
		}
		if len(data) < 24 {
			return qcow2Table{}, false, faultf(ErrUnsafe, "qcow2 bitmaps extension of %d bytes is truncated", len(data))
		}
		if count := be.Uint32(data); count > qcow2MaxBitmaps {
			return qcow2Table{}, false, faultf(ErrUnsafe, "qcow2 image has %d bitmaps, over %d", count, qcow2MaxBitmaps)
		}
		return qcow2Table{"bitmap directory", be.Uint64(data[16:]), be.Uint64(data[8:]), qcow2MaxBitmapDirBytes}, true, nil
	}
	return qcow2Table{}, false, nil
}
