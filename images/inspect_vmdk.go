package images

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The VMDK sparse extent header ("hosted sparse extent", VMware's Virtual Disk Format 5.0),
// little-endian. Offsets and sizes in the header count 512-byte sectors.
const (
	vmdkHeaderLen      = 512
	vmdkOffVersion     = 4
	vmdkOffCapacity    = 12
	vmdkOffGrainSize   = 20
	vmdkOffDescOffset  = 28
	vmdkOffDescSize    = 36
	vmdkSector         = 512
	vmdkMaxDescSectors = 2048     // 1 MiB; QEMU writes 20
	vmdkMaxDescRead    = 64 << 10 // QEMU itself reads only the first 10 KiB
	vmdkMaxGrain       = 1 << 16  // sectors (32 MiB); QEMU writes 128
)

// vmdkCreateTypes are the VMDK subformats accepted: a single binary file holding its own data.
// Every other type is a text descriptor naming other files (CVE-2022-47951) or an extent of one.
var vmdkCreateTypes = []string{"monolithicSparse", "streamOptimized"}

// inspectVMDK accepts only a binary sparse VMDK: the KDMV header, an embedded descriptor of type
// monolithicSparse or streamOptimized with one SPARSE extent and no parent, and a capacity within
// the cap. A text descriptor is refused before anything reads what it names.
func inspectVMDK(r io.ReaderAt, size int64, maxVirtual int64) error {
	h, err := readSpan(r, size, 0, vmdkHeaderLen)
	if err != nil {
		return fmt.Errorf("read vmdk header: %w", err)
	}
	isText := bytes.HasPrefix(h, []byte(vmdkDescriptor)) || bytes.Contains(h, []byte("createType"))
	switch {
	case !bytes.HasPrefix(h, []byte(vmdkMagic)) && isText:
		return faultf(ErrUnsafe, "VMDK is a text descriptor, which can name host files (CVE-2022-47951): only binary sparse VMDKs (monolithicSparse, streamOptimized) are accepted")
	case !bytes.HasPrefix(h, []byte(vmdkMagic)):
		return faultf(ErrUnsafe, "not a binary sparse VMDK: no %q magic", vmdkMagic)
	case len(h) < vmdkHeaderLen:
		return faultf(ErrUnsafe, "VMDK header is truncated (%d bytes)", len(h))
	}
	le := binary.LittleEndian
	if v := le.Uint32(h[vmdkOffVersion:]); v < 1 || v > 3 {
		return faultf(ErrUnsafe, "VMDK version %d is not supported (1..3)", v)
	}
	capacity := le.Uint64(h[vmdkOffCapacity:])
	if capacity > uint64(maxVirtual)/vmdkSector {
		return faultf(ErrUnsafe, "virtual size of %d sectors is over the host cap of %d bytes", capacity, maxVirtual)
	}
	if g := le.Uint64(h[vmdkOffGrainSize:]); g == 0 || g > vmdkMaxGrain || g&(g-1) != 0 {
		return faultf(ErrUnsafe, "VMDK grain size of %d sectors is not a power of two up to %d", g, vmdkMaxGrain)
	}
	desc, err := readVMDKDescriptor(r, size, le.Uint64(h[vmdkOffDescOffset:]), le.Uint64(h[vmdkOffDescSize:]))
	if err != nil {
		return err
	}
	return checkVMDKDescriptor(desc)
}

// readVMDKDescriptor reads the descriptor embedded in a sparse extent, up to its first NUL.
func readVMDKDescriptor(r io.ReaderAt, size int64, offset, sectors uint64) (string, error) {
	if offset == 0 || sectors == 0 {
		return "", faultf(ErrUnsafe, "VMDK sparse extent has no embedded descriptor: it is an extent of a multi-file disk, not a monolithic image")
	}
	if sectors > vmdkMaxDescSectors || offset > uint64(size)/vmdkSector {
		return "", faultf(ErrUnsafe, "VMDK descriptor at sector %d (%d sectors) lies outside the file", offset, sectors)
	}
	buf, err := readSpan(r, size, int64(offset)*vmdkSector, min(int64(sectors)*vmdkSector, vmdkMaxDescRead))
	if err != nil {
		return "", fmt.Errorf("read vmdk descriptor: %w", err)
	}
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	return string(buf), nil
}

// checkVMDKDescriptor reads createType the way QEMU does (the first occurrence anywhere, comments
// included), refuses any parent, and allows exactly one extent line, of type SPARSE.
func checkVMDKDescriptor(desc string) error {
	if strings.Contains(desc, "parentFileNameHint") {
		return faultf(ErrUnsafe, "VMDK descriptor names a parent file: images must be self-contained")
	}
	if strings.Count(desc, "createType") != 1 {
		return faultf(ErrUnsafe, "VMDK descriptor must have exactly one createType, it has %d", strings.Count(desc, "createType"))
	}
	_, rest, _ := strings.Cut(desc, "createType")
	typ, ok := strings.CutPrefix(rest, `="`)
	typ, _, closed := strings.Cut(typ, `"`)
	if !ok || !closed || !slices.Contains(vmdkCreateTypes, typ) {
		return faultf(ErrUnsafe, "VMDK type %s is not accepted: only %s", quoteShort(typ), strings.Join(vmdkCreateTypes, ", "))
	}
	extents := 0
	for line := range strings.Lines(desc) {
		f := strings.Fields(line)
		key, val, _ := strings.Cut(line, "=")
		switch {
		case strings.TrimSpace(key) == "parentCID" && !strings.EqualFold(strings.TrimSpace(val), "ffffffff"):
			return faultf(ErrUnsafe, "VMDK descriptor has a parent (%s): images must be self-contained", quoteShort(strings.TrimSpace(line)))
		case len(f) == 0 || !slices.Contains([]string{"RW", "RDONLY", "NOACCESS"}, f[0]):
			continue
		case len(f) < 3 || f[2] != "SPARSE":
			return faultf(ErrUnsafe, "VMDK extent %s is not SPARSE: extents naming other files are refused", quoteShort(strings.TrimSpace(line)))
		}
		extents++
	}
	if extents != 1 {
		return faultf(ErrUnsafe, "VMDK descriptor has %d extents, a monolithic image has one", extents)
	}
	return nil
}
