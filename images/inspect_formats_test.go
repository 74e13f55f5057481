package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// withVMDKDescriptor replaces the descriptor embedded in a sparse VMDK (QEMU puts it at sector 1,
// 20 sectors long).
func withVMDKDescriptor(vmdk []byte, desc string) []byte {
	out := bytes.Clone(vmdk)
	area := out[512 : 512+20*512]
	clear(area)
	copy(area, desc)
	return out
}

func vmdkDesc(createType, extent string, more ...string) string {
	return "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"" + createType + "\"\n\n# Extent description\n" +
		extent + "\n" + strings.Join(more, "\n") + "\nddb.adapterType = \"ide\"\n"
}

// vhdxItemOffset returns the file offset of the metadata entry with guid, and of its data.
func vhdxItemOffset(t *testing.T, vhdx []byte, guid string) (entry, data int) {
	t.Helper()
	le := binary.LittleEndian
	table := vhdx[vhdxRegionTableOff:]
	for i := range int(le.Uint32(table[8:])) {
		e := table[16+i*32:]
		if string(e[:16]) != guidMetadataRegion {
			continue
		}
		region := int(le.Uint64(e[16:]))
		for j := range int(le.Uint16(vhdx[region+10:])) {
			off := region + 32 + j*32
			if string(vhdx[off:off+16]) == guid {
				return off, region + int(le.Uint32(vhdx[off+16:]))
			}
		}
	}
	t.Fatalf("no metadata item %x", guid)
	return 0, 0
}

func TestInspectFormats(t *testing.T) {
	e := newEnv(t)
	sparse := e.read(e.convertTo("s.vmdk", "vmdk", "4M"))
	stream := e.read(e.convertTo("o.vmdk", "vmdk", "4M", "-o", "subformat=streamOptimized"))
	vhdx := e.read(e.convertTo("v.vhdx", "vhdx", "4M"))
	vdi := e.read(e.convertTo("v.vdi", "vdi", "4M"))
	patch := func(b []byte, off int, data ...byte) []byte {
		out := bytes.Clone(b)
		copy(out[off:], data)
		return out
	}
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	le64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	paramsEntry, paramsData := vhdxItemOffset(t, vhdx, guidFileParameters)
	_, sizeData := vhdxItemOffset(t, vhdx, guidVirtualSize)

	tests := []struct {
		name   string
		format string
		data   []byte
		msg    string // "" when accepted
	}{
		{"vmdk monolithicSparse", FormatVMDK, sparse, ""},
		{"vmdk streamOptimized", FormatVMDK, stream, ""},
		{"vmdk text descriptor", FormatVMDK, []byte(vmdkDesc("monolithicFlat", `RW 8192 FLAT "/etc/shadow" 0`)), "text descriptor"},
		{"vmdk twoGbMaxExtentSparse descriptor", FormatVMDK, []byte(vmdkDesc("twoGbMaxExtentSparse", `RW 8192 SPARSE "disk-s001.vmdk"`)), "text descriptor"},
		{"vmdk COWD", FormatVMDK, patch(sparse, 0, 'C', 'O', 'W', 'D'), "no \"KDMV\" magic"},
		{"vmdk version 4", FormatVMDK, patch(sparse, vmdkOffVersion, le32(4)...), "VMDK version 4"},
		{"vmdk over the cap", FormatVMDK, patch(sparse, vmdkOffCapacity, le64(testCap/512+1)...), "over the host cap"},
		{"vmdk grain not a power of two", FormatVMDK, patch(sparse, vmdkOffGrainSize, le64(100)...), "grain size"},
		{"vmdk without embedded descriptor", FormatVMDK, patch(sparse, vmdkOffDescOffset, le64(0)...), "no embedded descriptor"},
		{"vmdk descriptor outside the file", FormatVMDK, patch(sparse, vmdkOffDescOffset, le64(1<<40)...), "outside the file"},
		{"vmdk with a parent file", FormatVMDK, withVMDKDescriptor(sparse, vmdkDesc("monolithicSparse", `RW 8192 SPARSE "s.vmdk"`, `parentFileNameHint="/etc/shadow"`)), "names a parent file"},
		{"vmdk with a parent CID", FormatVMDK, withVMDKDescriptor(sparse, strings.Replace(vmdkDesc("monolithicSparse", `RW 8192 SPARSE "s.vmdk"`), "parentCID=ffffffff", "parentCID=1234abcd", 1)), "has a parent"},
		{"vmdk embedded flat extent", FormatVMDK, withVMDKDescriptor(sparse, vmdkDesc("monolithicSparse", `RW 8192 FLAT "/etc/shadow" 0`)), "is not SPARSE"},
		{"vmdk two extents", FormatVMDK, withVMDKDescriptor(sparse, vmdkDesc("monolithicSparse", `RW 8192 SPARSE "a.vmdk"`+"\n"+`RW 8192 SPARSE "b.vmdk"`)), "2 extents"},
		{"vmdk embedded vmfsSparse", FormatVMDK, withVMDKDescriptor(sparse, vmdkDesc("vmfsSparse", `RW 8192 SPARSE "s.vmdk"`)), `VMDK type "vmfsSparse" is not accepted`},
		{"vmdk createType in a comment first", FormatVMDK, withVMDKDescriptor(sparse, "# createType=\"monolithicFlat\"\n"+vmdkDesc("monolithicSparse", `RW 8192 SPARSE "s.vmdk"`)), "exactly one createType"},
		{"vmdk truncated header", FormatVMDK, sparse[:100], "truncated"},

		{"vhdx", FormatVHDX, vhdx, ""},
		{"vhdx without identifier", FormatVHDX, patch(vhdx, 0, 'x'), "no \"vhdxfile\" identifier"},
		{"vhdx with a parent flag", FormatVHDX, patch(vhdx, paramsData+4, le32(vhdxFlagHasParent)...), "has a parent"},
		{"vhdx with a parent locator", FormatVHDX, patch(vhdx, paramsEntry, []byte(guidParentLocator)...), "parent locator"},
		{"vhdx over the cap", FormatVHDX, patch(vhdx, sizeData, le64(testCap+1)...), "over the host cap"},
		{"vhdx with a log to replay", FormatVHDX, patch(patch(vhdx, vhdxHeader1Off+48, 1), vhdxHeader2Off+48, 1), "log to replay"},
		{"vhdx version 2", FormatVHDX, patch(patch(vhdx, vhdxHeader1Off+66, 2), vhdxHeader2Off+66, 2), "version 2"},
		{"vhdx without headers", FormatVHDX, patch(patch(vhdx, vhdxHeader1Off, 0), vhdxHeader2Off, 0), "no valid header"},
		{"vhdx without region table", FormatVHDX, patch(vhdx, vhdxRegionTableOff, 0), "region table is missing"},
		{"vhdx unknown optional region", FormatVHDX, patch(vhdx, vhdxRegionTableOff+16, bytes.Repeat([]byte{9}, 16)...), ""},
		{"vhdx unknown required region", FormatVHDX, patch(patch(vhdx, vhdxRegionTableOff+16, bytes.Repeat([]byte{9}, 16)...), vhdxRegionTableOff+16+28, 1), "unknown required region"},
		{"vhdx truncated", FormatVHDX, vhdx[:4096], "no valid header"},

		{"vdi", FormatVDI, vdi, ""},
		{"vdi differencing", FormatVDI, patch(vdi, vdiOffImageType, le32(4)...), "type 4 is not supported"},
		{"vdi with a parent", FormatVDI, patch(vdi, vdiOffUUIDParent, 1), "names a parent"},
		{"vdi version 1.0", FormatVDI, patch(vdi, vdiOffVersion, le32(0x00010000)...), "version"},
		{"vdi over the cap", FormatVDI, patch(vdi, vdiOffDiskSize, le64(testCap+1)...), "over the host cap"},
		{"vdi without signature", FormatVDI, patch(vdi, vdiOffMagic, 0), "no VDI signature"},
		{"vdi truncated", FormatVDI, vdi[:300], "shorter than a VDI header"},

		{"iso", FormatISO, isoBytes(), ""},
		{"iso without signature", FormatISO, make([]byte, isoMinSize), "no \"CD001\""},
		{"iso too short", FormatISO, isoBytes()[:isoOffMagic+5], "shorter than the system area"},
		{"iso with a vmdk header", FormatISO, patch(isoBytes(), 0, []byte(vmdkMagic)...), "also carries a vmdk signature"},
		{"qcow2 holding iso bytes", FormatQcow2, patch(qcow2Bytes(), isoOffMagic, []byte(isoMagic)...), ""},
		{"qcow2 with a vdi signature", FormatQcow2, patch(qcow2Bytes(), vdiOffMagic, 0x7f, 0x10, 0xda, 0xbe), "also carries a vdi signature"},
		{"raw holding every signature", FormatRaw, patch(patch(isoBytes(), 0, []byte(qcow2Magic)...), vdiOffMagic, 0x7f, 0x10, 0xda, 0xbe), "declared raw but its content is a qcow2 image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := inspect(bytes.NewReader(tt.data), int64(len(tt.data)), tt.format, testCap)
			switch {
			case tt.msg == "" && err != nil:
				t.Errorf("inspect: %v, want accepted", err)
			case tt.msg != "" && (!errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tt.msg)):
				t.Errorf("inspect: %v, want ErrUnsafe mentioning %q", err, tt.msg)
			}
		})
	}
}
