package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

const testCap = 1 << 30

// qcow2Bytes returns a valid, empty version 3 qcow2 image of 1 MiB laid out as qemu-img lays it
// out (header cluster, refcount table, L1 table of qcow2L1Entries entries; clusters of 64 KiB),
// changed by mods.
func qcow2Bytes(mods ...func(b []byte)) []byte {
	return qcow2Image(16, qcow2L1Entries, mods...)
}

// qcow2L1Entries is the L1 table size of qcow2Bytes: enough for a virtual size of testCap.
const qcow2L1Entries = 2

// qcow2Image returns a valid, empty version 3 qcow2 image of 1 MiB with clusters of 1<<bits bytes
// and an L1 table of l1 entries, changed by mods. Its refcount table is the second cluster, its L1
// table the third, and the file ends with the L1 table.
func qcow2Image(bits uint32, l1 uint32, mods ...func(b []byte)) []byte {
	cluster := 1 << bits
	b := make([]byte, 2*cluster+8*int(l1))
	copy(b, qcow2Magic)
	be := binary.BigEndian
	be.PutUint32(b[offVersion:], 3)
	be.PutUint32(b[offClusterBits:], bits)
	be.PutUint64(b[offSize:], 1<<20)
	be.PutUint32(b[offL1Size:], l1)
	be.PutUint64(b[offL1Offset:], uint64(2*cluster))
	be.PutUint64(b[offRefcountOffset:], uint64(cluster))
	be.PutUint32(b[offRefcountCluster:], 1)
	be.PutUint32(b[offRefcountOrder:], 4)
	be.PutUint32(b[offHeaderLength:], qcow2V3MinHeader)
	for _, mod := range mods {
		mod(b)
	}
	return b
}

func put32(off int, v uint32) func([]byte) {
	return func(b []byte) { binary.BigEndian.PutUint32(b[off:], v) }
}

func put64(off int, v uint64) func([]byte) {
	return func(b []byte) { binary.BigEndian.PutUint64(b[off:], v) }
}

// extension writes a header extension at off.
func extension(off int, typ uint32, data string) func([]byte) {
	return func(b []byte) {
		binary.BigEndian.PutUint32(b[off:], typ)
		binary.BigEndian.PutUint32(b[off+4:], uint32(len(data)))
		copy(b[off+8:], data)
	}
}

func TestInspect(t *testing.T) {
	tests := []struct {
		name   string
		format string
		data   []byte
		want   error  // nil: accepted
		msg    string // part of the error
	}{
		{name: "valid v3", data: qcow2Bytes()},
		{name: "valid v2", data: qcow2Bytes(put32(offVersion, 2), put32(offHeaderLength, 0))},
		{name: "known harmless features", data: qcow2Bytes(put64(offIncompatible, incompatDirty|incompatCompression|incompatExtendedL2))},
		{name: "header length 112", data: qcow2Bytes(put32(offHeaderLength, 112))},
		{name: "unknown extension, then end", data: qcow2Bytes(extension(104, 0x6803f857, strings.Repeat("f", 48)))},
		{name: "extension longer than the cluster", data: qcow2Bytes(extension(104, 0x12345678, ""), put32(108, 0xffffffff))},
		{name: "virtual size at the cap", data: qcow2Bytes(put64(offSize, testCap))},
		{name: "shorter than a header", data: qcow2Bytes()[:50], want: ErrUnsafe, msg: "shorter than a qcow2 header"},
		{name: "v3 header truncated", data: qcow2Bytes()[:80], want: ErrUnsafe, msg: "truncated"},
		{name: "no magic", data: qcow2Bytes(func(b []byte) { b[0] = 'X' }), want: ErrUnsafe, msg: "not a qcow2 image"},
		{name: "version 1", data: qcow2Bytes(put32(offVersion, 1)), want: ErrUnsafe, msg: "version 1"},
		{name: "version 4", data: qcow2Bytes(put32(offVersion, 4)), want: ErrUnsafe, msg: "version 4"},
		{name: "cluster bits 8", data: qcow2Bytes(put32(offClusterBits, 8)), want: ErrUnsafe, msg: "cluster bits 8"},
		{name: "cluster bits 22", data: qcow2Bytes(put32(offClusterBits, 22)), want: ErrUnsafe, msg: "cluster bits 22"},
		{name: "header length 100", data: qcow2Bytes(put32(offHeaderLength, 100)), want: ErrUnsafe, msg: "header length 100"},
		{name: "header length 108", data: qcow2Bytes(put32(offHeaderLength, 108)), want: ErrUnsafe, msg: "header length 108"},
		{name: "header length beyond the cluster", data: qcow2Bytes(put32(offHeaderLength, 1<<16+8)), want: ErrUnsafe, msg: "header length 65544"},
		{
			name: "backing file",
			data: qcow2Bytes(put64(offBackingOffset, 512), put32(offBackingSize, 11), func(b []byte) { copy(b[512:], "/etc/shadow") }),
			want: ErrUnsafe, msg: `backing file "/etc/shadow"`,
		},
		{name: "backing file beyond the cluster", data: qcow2Bytes(put64(offBackingOffset, 1<<40), put32(offBackingSize, 8)), want: ErrUnsafe, msg: "backing file at offset 1099511627776"},
		{name: "backing file name too long", data: qcow2Bytes(put64(offBackingOffset, 512), put32(offBackingSize, 5000)), want: ErrUnsafe, msg: "backing file at offset 512"},
		{name: "backing offset wraps around", data: qcow2Bytes(put64(offBackingOffset, 1<<64-4), put32(offBackingSize, 8)), want: ErrUnsafe, msg: "backing file at offset"},
		{name: "AES encryption", data: qcow2Bytes(put32(offCryptMethod, 1)), want: ErrUnsafe, msg: "encrypted (method 1)"},
		{name: "LUKS encryption", data: qcow2Bytes(put32(offCryptMethod, 2)), want: ErrUnsafe, msg: "encrypted (method 2)"},
		{name: "corrupt bit", data: qcow2Bytes(put64(offIncompatible, incompatCorrupt)), want: ErrUnsafe, msg: "marked corrupt"},
		{name: "data file bit", data: qcow2Bytes(put64(offIncompatible, incompatDataFile)), want: ErrUnsafe, msg: "external data file"},
		{name: "unknown bit 5", data: qcow2Bytes(put64(offIncompatible, 1<<5)), want: ErrUnsafe, msg: "unknown incompatible features 0x20"},
		{name: "unknown bit 63 with known ones", data: qcow2Bytes(put64(offIncompatible, 1<<63|incompatDirty)), want: ErrUnsafe, msg: "0x8000000000000000"},
		{name: "data file extension", data: qcow2Bytes(extension(104, extDataFile, "/etc/passwd")), want: ErrUnsafe, msg: "names an external data file"},
		{
			name: "data file extension after another one",
			data: qcow2Bytes(extension(104, 0x6803f857, "x"), extension(120, extDataFile, "/dev/sda")),
			want: ErrUnsafe, msg: "names an external data file",
		},
		{name: "encryption header extension", data: qcow2Bytes(extension(104, extFDE, "0123456789abcdef")), want: ErrUnsafe, msg: "encryption header"},
		{name: "virtual size over the cap", data: qcow2Bytes(put64(offSize, testCap+1)), want: ErrUnsafe, msg: "virtual size 1073741825 bytes is over the host cap"},
		{name: "virtual size 2^64-1", data: qcow2Bytes(put64(offSize, 1<<64-1)), want: ErrUnsafe, msg: "over the host cap"},
		{name: "raw with a qcow2 header", format: FormatRaw, data: qcow2Bytes(put64(offBackingOffset, 512), put32(offBackingSize, 11)), want: ErrUnsafe, msg: "declared raw"},
		{name: "raw with a VHD footer copy", format: FormatRaw, data: []byte("conectix\x00\x00\x00\x02"), want: ErrUnsafe, msg: "vpc"},
		{name: "empty raw", format: FormatRaw, data: nil},
		{name: "vmdk flat descriptor", format: FormatVMDK, data: []byte("# Disk DescriptorFile\nRW 8 FLAT \"/etc/passwd\" 0\n"), want: ErrUnsafe, msg: "text descriptor"},
		{name: "format outside the allow-list", format: "vpc", data: []byte("conectix"), want: ErrInvalid, msg: "use one of qcow2, raw, iso, vmdk, vhdx, vdi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format := tt.format
			if format == "" {
				format = FormatQcow2
			}
			err := inspect(bytes.NewReader(tt.data), int64(len(tt.data)), format, testCap)
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("inspect: %v, want accepted", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("inspect: %v, want %v", err, tt.want)
			case tt.want != nil && !strings.Contains(err.Error(), tt.msg):
				t.Errorf("inspect: %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestInspectRawOverCap(t *testing.T) {
	err := inspect(bytes.NewReader(nil), testCap+1, FormatRaw, testCap)
	if !errors.Is(err, ErrUnsafe) {
		t.Errorf("raw of cap+1 bytes: %v, want ErrUnsafe", err)
	}
}

// FuzzInspectQcow2: no input makes inspect panic, and nothing it accepts has a backing file,
// the data file or corrupt bit, unknown incompatible features, or an L1 or refcount table that
// does not end inside the file.
func FuzzInspectQcow2(f *testing.F) {
	f.Add(qcow2Image(9, 32))
	f.Add(qcow2Image(9, 32, put32(offVersion, 2)))
	f.Add(qcow2Image(9, 32, extension(104, extDataFile, "/x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		if inspect(bytes.NewReader(data), int64(len(data)), FormatQcow2, testCap) != nil {
			return
		}
		be := binary.BigEndian
		if be.Uint64(data[offBackingOffset:]) != 0 || be.Uint32(data[offCryptMethod:]) != 0 {
			t.Errorf("accepted a backing file or encryption: % x", data[:offCryptMethod+4])
		}
		if be.Uint32(data[offVersion:]) == 3 && be.Uint64(data[offIncompatible:])&^(incompatDirty|incompatCompression|incompatExtendedL2) != 0 {
			t.Errorf("accepted incompatible features %#x", be.Uint64(data[offIncompatible:]))
		}
		l1End := be.Uint64(data[offL1Offset:]) + 8*uint64(be.Uint32(data[offL1Size:]))
		refcountEnd := be.Uint64(data[offRefcountOffset:]) + uint64(be.Uint32(data[offRefcountCluster:]))<<be.Uint32(data[offClusterBits:])
		if l1End > uint64(len(data)) || refcountEnd > uint64(len(data)) {
			t.Errorf("accepted tables ending at %d and %d in a file of %d bytes", l1End, refcountEnd, len(data))
		}
	})
}
