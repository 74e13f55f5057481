package images

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// VHDX structures (Microsoft's MS-VHDX), little-endian. Only what decides safety is read: the
// headers (a pending log would make QEMU write to the image), the region table, and the metadata
// items that say whether the disk has a parent and how big it is.
const (
	vhdxHeader1Off      = 64 << 10
	vhdxHeader2Off      = 128 << 10
	vhdxRegionTableOff  = 192 << 10
	vhdxMaxEntries      = 2047
	vhdxEntryLen        = 32
	vhdxMetaHeaderLen   = 32
	vhdxFlagHasParent   = 1 << 1 // in the File Parameters item
	vhdxRequired        = 1      // bit 0 of a region entry's Required field
	vhdxMetaRequired    = 1 << 2 // IsRequired bit of a metadata entry
	vhdxMaxMetadataRead = 1 << 20
)

// GUIDs of the regions and metadata items cloudlet knows.
var (
	guidBATRegion      = mustGUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
	guidMetadataRegion = mustGUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")
	guidFileParameters = mustGUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
	guidVirtualSize    = mustGUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
	guidDiskID         = mustGUID("BECA12AB-B2E6-4523-93EF-C309E000C746")
	guidLogicalSector  = mustGUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
	guidPhysicalSector = mustGUID("CDA348C7-445D-4471-9CC9-E9885251C556")
	guidParentLocator  = mustGUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
)

// mustGUID encodes a GUID the way Windows stores it: the first three groups little-endian.
func mustGUID(s string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("bad GUID " + s)
	}
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return string(b)
}

// inspectVHDX checks the VHDX identifier, refuses a pending log, differencing disks (a parent
// locator or the HasParent flag) and unknown required regions or metadata, and checks the virtual
// size against the cap.
func inspectVHDX(r io.ReaderAt, size int64, maxVirtual int64) error {
	id, err := readSpan(r, size, 0, int64(len(vhdxMagic)))
	if err != nil {
		return fmt.Errorf("read vhdx identifier: %w", err)
	}
	if string(id) != vhdxMagic {
		return faultf(ErrUnsafe, "not a VHDX image: no %q identifier", vhdxMagic)
	}
	if err := checkVHDXLog(r, size); err != nil {
		return err
	}
	metaOff, metaLen, err := vhdxMetadataRegion(r, size)
	if err != nil {
		return err
	}
	virtual, err := vhdxMetadata(r, size, metaOff, metaLen)
	if err != nil {
		return err
	}
	return checkVirtualSize(int64(min(virtual, 1<<63-1)), maxVirtual)
}

// checkVHDXLog reads both headers; the current one (the higher sequence number) must have no log
// to replay.
func checkVHDXLog(r io.ReaderAt, size int64) error {
	var cur []byte
	var seq uint64
	for _, off := range []int64{vhdxHeader1Off, vhdxHeader2Off} {
		h, err := readSpan(r, size, off, 80)
		if err != nil {
			return fmt.Errorf("read vhdx header: %w", err)
		}
		if len(h) == 80 && string(h[:4]) == "head" && (cur == nil || binary.LittleEndian.Uint64(h[8:]) > seq) {
			cur, seq = h, binary.LittleEndian.Uint64(h[8:])
		}
	}
	if cur == nil {
		return faultf(ErrUnsafe, "VHDX image has no valid header")
	}
	if v := binary.LittleEndian.Uint16(cur[66:]); v != 1 {
		return faultf(ErrUnsafe, "VHDX version %d is not supported (1)", v)
	}
	if !allZero(cur[48:64]) {
		return faultf(ErrUnsafe, "VHDX image has a log to replay: open and close it in its hypervisor first")
	}
	return nil
}

// vhdxMetadataRegion reads the region table and returns where the metadata region is.
func vhdxMetadataRegion(r io.ReaderAt, size int64) (off int64, length int64, err error) {
	h, err := readSpan(r, size, vhdxRegionTableOff, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("read vhdx region table: %w", err)
	}
	if len(h) < 16 || string(h[:4]) != "regi" {
		return 0, 0, faultf(ErrUnsafe, "VHDX region table is missing")
	}
	n := binary.LittleEndian.Uint32(h[8:])
	if n > vhdxMaxEntries {
		return 0, 0, faultf(ErrUnsafe, "VHDX region table has %d entries, the limit is %d", n, vhdxMaxEntries)
	}
	table, err := readSpan(r, size, vhdxRegionTableOff+16, int64(n)*vhdxEntryLen)
	if err != nil {
		return 0, 0, fmt.Errorf("read vhdx region table: %w", err)
	}
	if len(table) < int(n)*vhdxEntryLen {
		return 0, 0, faultf(ErrUnsafe, "VHDX region table is truncated")
	}
	for i := range int(n) {
		e := table[i*vhdxEntryLen:]
		guid, required := string(e[:16]), binary.LittleEndian.Uint32(e[28:])&vhdxRequired != 0
		switch {
		case guid == guidMetadataRegion:
			off, length = int64(min(binary.LittleEndian.Uint64(e[16:]), 1<<62)), int64(binary.LittleEndian.Uint32(e[24:]))
		case guid == guidBATRegion:
		case required:
			return 0, 0, faultf(ErrUnsafe, "VHDX image has an unknown required region")
		}
	}
	if off == 0 || length < vhdxMetaHeaderLen {
		return 0, 0, faultf(ErrUnsafe, "VHDX image has no metadata region")
	}
	return off, length, nil
}

// vhdxMetadata walks the metadata table: it refuses parents and unknown required items and
// returns the virtual disk size.
func vhdxMetadata(r io.ReaderAt, size, regionOff, regionLen int64) (uint64, error) {
	region, err := readSpan(r, size, regionOff, min(regionLen, vhdxMaxMetadataRead))
	if err != nil {
		return 0, fmt.Errorf("read vhdx metadata: %w", err)
	}
	if len(region) < vhdxMetaHeaderLen || string(region[:8]) != "metadata" {
		return 0, faultf(ErrUnsafe, "VHDX metadata table is missing")
	}
	n := int(binary.LittleEndian.Uint16(region[10:]))
	if n > vhdxMaxEntries || vhdxMetaHeaderLen+n*vhdxEntryLen > len(region) {
		return 0, faultf(ErrUnsafe, "VHDX metadata table of %d entries does not fit its region", n)
	}
	var virtual uint64
	found := false
	for i := range n {
		e := region[vhdxMetaHeaderLen+i*vhdxEntryLen:]
		item := vhdxItem{guid: string(e[:16]), off: binary.LittleEndian.Uint32(e[16:]), length: binary.LittleEndian.Uint32(e[20:]),
			required: binary.LittleEndian.Uint32(e[24:])&vhdxMetaRequired != 0}
		data, ok := item.data(region)
		switch {
		case item.guid == guidParentLocator:
			return 0, faultf(ErrUnsafe, "VHDX image has a parent locator: differencing disks are refused, images must be self-contained")
		case item.guid == guidFileParameters && ok && len(data) >= 8:
			if binary.LittleEndian.Uint32(data[4:])&vhdxFlagHasParent != 0 {
				return 0, faultf(ErrUnsafe, "VHDX image has a parent: differencing disks are refused, images must be self-contained")
			}
		case item.guid == guidVirtualSize && ok && len(data) >= 8:
			virtual, found = binary.LittleEndian.Uint64(data), true
		case item.guid == guidDiskID || item.guid == guidLogicalSector || item.guid == guidPhysicalSector:
		case item.required:
			return 0, faultf(ErrUnsafe, "VHDX image has an unknown required metadata item")
		}
	}
	if !found {
		return 0, faultf(ErrUnsafe, "VHDX metadata has no virtual disk size")
	}
	return virtual, nil
}

// vhdxItem is one entry of the metadata table; its data lies at off within the region.
type vhdxItem struct {
	guid        string
	off, length uint32
	required    bool
}

func (it vhdxItem) data(region []byte) ([]byte, bool) {
	end := uint64(it.off) + uint64(it.length)
	if end > uint64(len(region)) {
		return nil, false
	}
	return region[it.off:end], true
}
