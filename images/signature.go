package images

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Format signatures: where each format's magic lives.
const (
	vmdkMagic       = "KDMV" // at 0: a VMDK sparse extent (hosted sparse, version 1..3)
	vmdkDescriptor  = "# Disk DescriptorFile"
	vhdxMagic       = "vhdxfile" // at 0: the VHDX file type identifier
	vpcMagic        = "conectix" // at 0: a dynamic VHD's footer copy (QEMU's vpc driver probes only there)
	vdiMagic        = 0xbeda107f // little-endian at vdiOffMagic
	vdiOffMagic     = 0x40
	isoMagic        = "CD001" // at isoOffMagic: the standard identifier of the first volume descriptor
	isoOffMagic     = 32769
	isoFirstVolDesc = 32768 // sector 16 of 2048 bytes
	isoMinSize      = isoFirstVolDesc + 2048
)

// sigVPC names the VHD (QEMU's vpc) signature: not a format cloudlet stores, but one a raw file
// must not carry.
const sigVPC = "vpc"

// signatures lists the formats whose signature r carries, in a fixed order. It reads the first
// sector and, when the file is long enough, the first ISO 9660 volume descriptor.
func signatures(r io.ReaderAt, size int64) ([]string, error) {
	head, err := readSpan(r, size, 0, 512)
	if err != nil {
		return nil, err
	}
	var out []string
	if bytes.HasPrefix(head, []byte(qcow2Magic)) {
		out = append(out, FormatQcow2)
	}
	if bytes.HasPrefix(head, []byte(vmdkMagic)) || bytes.HasPrefix(head, []byte(vmdkDescriptor)) {
		out = append(out, FormatVMDK)
	}
	if bytes.HasPrefix(head, []byte(vhdxMagic)) {
		out = append(out, FormatVHDX)
	}
	if bytes.HasPrefix(head, []byte(vpcMagic)) {
		out = append(out, sigVPC)
	}
	if len(head) >= vdiOffMagic+4 && binary.LittleEndian.Uint32(head[vdiOffMagic:]) == vdiMagic {
		out = append(out, FormatVDI)
	}
	iso, err := readSpan(r, size, isoOffMagic, int64(len(isoMagic)))
	if err != nil {
		return nil, err
	}
	if string(iso) == isoMagic {
		out = append(out, FormatISO)
	}
	return out, nil
}

// checkRaw refuses a file declared raw that carries another format's signature (qcow2, vmdk, vhdx,
// vdi, vpc or iso), as Glance does since CVE-2024-32498: the declared format must be the real one,
// so a tool that probes can never read the file as something else.
func checkRaw(r io.ReaderAt, size int64) error {
	sigs, err := signatures(r, size)
	if err != nil {
		return fmt.Errorf("read format signatures: %w", err)
	}
	if len(sigs) > 0 {
		return faultf(ErrUnsafe, "the file is declared raw but its content is a %s image: declare its real format", sigs[0])
	}
	return nil
}

// checkPolyglot rejects a file that carries the signature of a format other than the one it
// claims: such a file means different things to different readers. A qcow2 may hold ISO bytes in
// its clusters (the ISO signature sits past the qcow2 header), so that pair is allowed. Raw files
// are checked by checkRaw.
func checkPolyglot(r io.ReaderAt, size int64, format string) error {
	sigs, err := signatures(r, size)
	if err != nil {
		return fmt.Errorf("read format signatures: %w", err)
	}
	for _, sig := range sigs {
		if sig == format || format == FormatQcow2 && sig == FormatISO {
			continue
		}
		return faultf(ErrUnsafe, "the %s file also carries a %s signature: a polyglot is accepted only as raw", format, sig)
	}
	return nil
}

// inspectISO checks the ISO 9660 signature of the first volume descriptor; the image's virtual
// size is its file size.
func inspectISO(r io.ReaderAt, size int64, maxVirtual int64) error {
	if size < isoMinSize {
		return faultf(ErrUnsafe, "not an ISO 9660 image: %d bytes is shorter than the system area and one volume descriptor", size)
	}
	sig, err := readSpan(r, size, isoOffMagic, int64(len(isoMagic)))
	if err != nil {
		return fmt.Errorf("read iso signature: %w", err)
	}
	if string(sig) != isoMagic {
		return faultf(ErrUnsafe, "not an ISO 9660 image: no %q at byte %d", isoMagic, isoOffMagic)
	}
	return checkVirtualSize(size, maxVirtual)
}

// The VDI header (VirtualBox), little-endian, as QEMU's block/vdi.c reads it.
const (
	vdiHeaderLen     = 512
	vdiOffVersion    = 0x44
	vdiOffImageType  = 0x4c
	vdiOffDiskSize   = 0x170
	vdiOffUUIDParent = 0x1b8
	vdiTypeDynamic   = 1
	vdiTypeStatic    = 2
)

// inspectVDI checks the VDI header: the magic, version 1.1, a normal (dynamic or fixed) image
// without a parent, and the disk size against the cap.
func inspectVDI(r io.ReaderAt, size int64, maxVirtual int64) error {
	h, err := readSpan(r, size, 0, vdiHeaderLen)
	if err != nil {
		return fmt.Errorf("read vdi header: %w", err)
	}
	if len(h) < vdiHeaderLen {
		return faultf(ErrUnsafe, "not a VDI image: %d bytes is shorter than a VDI header", len(h))
	}
	le := binary.LittleEndian
	if le.Uint32(h[vdiOffMagic:]) != vdiMagic {
		return faultf(ErrUnsafe, "not a VDI image: no VDI signature at byte %#x", vdiOffMagic)
	}
	if v := le.Uint32(h[vdiOffVersion:]); v != 0x00010001 {
		return faultf(ErrUnsafe, "VDI version %#x is not supported (1.1)", v)
	}
	if t := le.Uint32(h[vdiOffImageType:]); t != vdiTypeDynamic && t != vdiTypeStatic {
		return faultf(ErrUnsafe, "VDI image type %d is not supported: only normal dynamic or fixed images (a differencing image needs its parent)", t)
	}
	if !allZero(h[vdiOffUUIDParent : vdiOffUUIDParent+16]) {
		return faultf(ErrUnsafe, "VDI image names a parent image: images must be self-contained")
	}
	return checkVirtualSize(int64(min(le.Uint64(h[vdiOffDiskSize:]), 1<<63-1)), maxVirtual)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
