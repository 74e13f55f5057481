package images

import (
	"encoding/binary"
	"fmt"
	"io"
	"iter"
)

// The qcow2 header, as docs/interop/qcow2.txt in QEMU describes it. Offsets are in bytes, fields
// big-endian.
const (
	qcow2Magic        = "QFI\xfb"
	qcow2V2HeaderLen  = 72  // version 2 headers have exactly this length
	qcow2V3MinHeader  = 104 // version 3 headers are at least this long
	qcow2MinClusterBt = 9   // 512-byte clusters
	qcow2MaxClusterBt = 21  // 2 MiB clusters
	qcow2MaxBackingLn = 1023

	offVersion       = 4
	offBackingOffset = 8
	offBackingSize   = 16
	offClusterBits   = 20
	offSize          = 24
	offCryptMethod   = 32
	offIncompatible  = 72
	offHeaderLength  = 100
)

// Incompatible feature bits: a reader that does not understand one must not open the image.
const (
	incompatDirty       = 1 << 0 // refcounts may be stale; QEMU repairs them
	incompatCorrupt     = 1 << 1 // QEMU found the metadata inconsistent
	incompatDataFile    = 1 << 2 // guest data lives in an external file named in a header extension
	incompatCompression = 1 << 3 // a compression type other than zlib (zstd)
	incompatExtendedL2  = 1 << 4 // subclusters
	incompatKnown       = incompatDirty | incompatCorrupt | incompatDataFile | incompatCompression | incompatExtendedL2
)

// Header extensions that make QEMU open or decrypt something beyond the image file.
const (
	extEnd      = 0x00000000
	extDataFile = 0x44415441 // name of the external data file
	extFDE      = 0x0537be77 // full disk encryption header
)

// inspect checks the disk file r (size bytes) in format before qemu-img ever sees it. A raw file
// must carry no other format's signature (a qcow2 "uploaded as raw" is refused: the declared
// format must be the real one); every other format must carry its own signature, a header cloudlet can trust, and no
// other format's signature (a polyglot could be read as something else by a tool that probes).
// Rejections wrap ErrUnsafe.
func inspect(r io.ReaderAt, size int64, format string, maxVirtual int64) error {
	var err error
	switch format {
	case FormatRaw:
		if err := checkVirtualSize(size, maxVirtual); err != nil {
			return err
		}
		return checkRaw(r, size)
	case FormatQcow2:
		err = inspectQcow2(r, size, maxVirtual)
	case FormatISO:
		err = inspectISO(r, size, maxVirtual)
	case FormatVMDK:
		err = inspectVMDK(r, size, maxVirtual)
	case FormatVHDX:
		err = inspectVHDX(r, size, maxVirtual)
	case FormatVDI:
		err = inspectVDI(r, size, maxVirtual)
	default:
		return oneOf("disk format", format, diskFormats)
	}
	if err != nil {
		return err
	}
	return checkPolyglot(r, size, format)
}

func checkVirtualSize(virtual, maxVirtual int64) error {
	if virtual < 0 || virtual > maxVirtual {
		return faultf(ErrUnsafe, "virtual size %d bytes is over the host cap of %d bytes", virtual, maxVirtual)
	}
	return nil
}

// inspectQcow2 reads the header cluster and checks every field that could make QEMU read another
// file, misread this one, or allocate without bound, and that every table it names is in the file.
func inspectQcow2(r io.ReaderAt, size int64, maxVirtual int64) error {
	h, err := readQcow2Header(r, size)
	if err != nil {
		return err
	}
	for _, check := range []func() error{
		h.checkLayout,
		h.checkBacking,
		h.checkFeatures,
		h.checkExtensions,
		func() error { return checkVirtualSize(int64(min(h.size, 1<<63-1)), maxVirtual) },
		h.checkTables,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// qcow2Header is the parsed header plus the bytes of the header cluster it came from.
type qcow2Header struct {
	buf           []byte // the first cluster of the file, or the whole file when it is shorter
	version       uint32
	backingOffset uint64
	backingSize   uint32
	clusterBits   uint32
	size          uint64
	cryptMethod   uint32
	incompatible  uint64
	headerLength  uint32

	fileSize         uint64 // bytes in the file
	l1Size           uint32 // entries
	l1Offset         uint64
	refcountOffset   uint64
	refcountClusters uint32
	nbSnapshots      uint32
	snapshotsOffset  uint64
	refcountOrder    uint32
}

// readQcow2Header reads the fixed fields, then the rest of the first cluster, where QEMU keeps
// header extensions and the backing file name.
func readQcow2Header(r io.ReaderAt, size int64) (*qcow2Header, error) {
	if size < qcow2V2HeaderLen {
		return nil, faultf(ErrUnsafe, "not a qcow2 image: %d bytes is shorter than a qcow2 header", size)
	}
	fixed := make([]byte, min(size, qcow2V3MinHeader))
	if _, err := r.ReadAt(fixed, 0); err != nil {
		return nil, fmt.Errorf("read qcow2 header: %w", err)
	}
	if string(fixed[:4]) != qcow2Magic {
		return nil, faultf(ErrUnsafe, "not a qcow2 image: no qcow2 magic (is it raw?)")
	}
	be := binary.BigEndian
	h := &qcow2Header{
		version:       be.Uint32(fixed[offVersion:]),
		backingOffset: be.Uint64(fixed[offBackingOffset:]),
		backingSize:   be.Uint32(fixed[offBackingSize:]),
		clusterBits:   be.Uint32(fixed[offClusterBits:]),
		size:          be.Uint64(fixed[offSize:]),
		cryptMethod:   be.Uint32(fixed[offCryptMethod:]),
		headerLength:  qcow2V2HeaderLen,

		fileSize:         uint64(size),
		l1Size:           be.Uint32(fixed[offL1Size:]),
		l1Offset:         be.Uint64(fixed[offL1Offset:]),
		refcountOffset:   be.Uint64(fixed[offRefcountOffset:]),
		refcountClusters: be.Uint32(fixed[offRefcountCluster:]),
		nbSnapshots:      be.Uint32(fixed[offNbSnapshots:]),
		snapshotsOffset:  be.Uint64(fixed[offSnapshotsOffset:]),
		refcountOrder:    4, // 16-bit refcounts: the only width version 2 knows
	}
	if h.version == 3 {
		if len(fixed) < qcow2V3MinHeader {
			return nil, faultf(ErrUnsafe, "qcow2 version 3 header is truncated")
		}
		h.incompatible = be.Uint64(fixed[offIncompatible:])
		h.headerLength = be.Uint32(fixed[offHeaderLength:])
		h.refcountOrder = be.Uint32(fixed[offRefcountOrder:])
	}
	if h.clusterBits < qcow2MinClusterBt || h.clusterBits > qcow2MaxClusterBt {
		return nil, faultf(ErrUnsafe, "qcow2 cluster bits %d outside %d..%d", h.clusterBits, qcow2MinClusterBt, qcow2MaxClusterBt)
	}
	h.buf = make([]byte, min(size, int64(1)<<h.clusterBits))
	if _, err := r.ReadAt(h.buf, 0); err != nil {
		return nil, fmt.Errorf("read qcow2 header cluster: %w", err)
	}
	return h, nil
}

func (h *qcow2Header) checkLayout() error {
	if h.version != 2 && h.version != 3 {
		return faultf(ErrUnsafe, "qcow2 version %d is not supported (2 or 3)", h.version)
	}
	cluster := uint32(1) << h.clusterBits
	if h.version == 3 && (h.headerLength < qcow2V3MinHeader || h.headerLength%8 != 0 || h.headerLength > cluster) {
		return faultf(ErrUnsafe, "qcow2 header length %d is not a multiple of 8 in %d..%d", h.headerLength, qcow2V3MinHeader, cluster)
	}
	return nil
}

// checkBacking rejects any backing file, naming it so the admin sees what the image pointed at.
func (h *qcow2Header) checkBacking() error {
	if h.backingOffset == 0 {
		return nil
	}
	name := fmt.Sprintf("at offset %d", h.backingOffset)
	if end := h.backingOffset + uint64(h.backingSize); h.backingSize <= qcow2MaxBackingLn &&
		h.backingOffset < end && end <= uint64(len(h.buf)) {
		name = quoteShort(string(h.buf[h.backingOffset:end]))
	}
	return faultf(ErrUnsafe, "qcow2 image has a backing file %s: images must be self-contained", name)
}

func (h *qcow2Header) checkFeatures() error {
	if h.cryptMethod != 0 {
		return faultf(ErrUnsafe, "qcow2 image is encrypted (method %d): not supported", h.cryptMethod)
	}
	switch f := h.incompatible; {
	case f&incompatCorrupt != 0:
		return faultf(ErrUnsafe, "qcow2 image is marked corrupt")
	case f&incompatDataFile != 0:
		return faultf(ErrUnsafe, "qcow2 image has an external data file: not allowed")
	case f&^incompatKnown != 0:
		return faultf(ErrUnsafe, "qcow2 image has unknown incompatible features %#x", f&^incompatKnown)
	}
	return nil
}

// checkExtensions walks the header extensions that follow the header and rejects those that name
// or decrypt another file, whatever the feature bits say.
func (h *qcow2Header) checkExtensions() error {
	for typ := range h.extensions() {
		switch typ {
		case extDataFile:
			return faultf(ErrUnsafe, "qcow2 image names an external data file: not allowed")
		case extFDE:
			return faultf(ErrUnsafe, "qcow2 image has an encryption header: not supported")
		}
	}
	return nil
}

// extensions yields the type and data of each header extension in the header cluster, up to the
// end marker; data is cut short where the cluster ends.
func (h *qcow2Header) extensions() iter.Seq2[uint32, []byte] {
	return func(yield func(uint32, []byte) bool) {
		be := binary.BigEndian
		for off := uint64(h.headerLength); off+8 <= uint64(len(h.buf)); {
			typ, n := be.Uint32(h.buf[off:]), uint64(be.Uint32(h.buf[off+4:]))
			if typ == extEnd || !yield(typ, h.buf[off+8:min(off+8+n, uint64(len(h.buf)))]) {
				return
			}
			off += 8 + (n+7)&^7
		}
	}
}
