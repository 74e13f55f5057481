package images

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Offsets in qcow2Bytes: clusters of 64 KiB, the refcount table in the second, the L1 table (two
// entries) in the third, where the file ends.
const (
	testCluster  = 1 << 16
	testL1Offset = 2 * testCluster
	testFileLen  = testL1Offset + 8*qcow2L1Entries
)

// bitmaps writes a bitmaps extension at off naming a directory of size bytes at dirOff.
func bitmaps(off int, count uint32, size, dirOff uint64) func([]byte) {
	return func(b []byte) {
		data := make([]byte, 24)
		put32(0, count)(data)
		put64(8, size)(data)
		put64(16, dirOff)(data)
		extension(off, extBitmaps, string(data))(b)
	}
}

// Every table a qcow2 header names lies inside the file, on a cluster boundary after the header,
// within QEMU's bounds, and apart from the others; an image that fails is refused before qemu-img
// reads it.
func TestInspectQcow2TablesLieInsideTheFile(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		msg  string // "": accepted
	}{
		{name: "tables end exactly at the end of the file", data: qcow2Bytes()},
		{name: "empty image without an L1 table", data: qcow2Bytes(put64(offSize, 0), put32(offL1Size, 0), put64(offL1Offset, 0))},
		{name: "snapshot table inside the file", data: append(qcow2Bytes(put32(offNbSnapshots, 2), put64(offSnapshotsOffset, 3*testCluster))[:testFileLen], make([]byte, 2*testCluster)...)},
		{name: "bitmap directory inside the file", data: append(qcow2Bytes(bitmaps(104, 1, 32, 3*testCluster)), make([]byte, 2*testCluster)...)},

		{name: "truncated to 300 bytes after the header", data: qcow2Bytes()[:300], msg: "L1 table (offset 131072, 16 bytes) lies past the end of the 300-byte file"},
		{name: "L1 table one byte past the end", data: qcow2Bytes()[:testFileLen-1], msg: "L1 table (offset 131072, 16 bytes) lies past the end"},
		{name: "refcount table past the end", data: qcow2Bytes(put64(offRefcountOffset, 1<<20)), msg: "refcount table (offset 1048576, 65536 bytes) lies past the end"},
		{name: "snapshot table past the end", data: qcow2Bytes(put32(offNbSnapshots, 1), put64(offSnapshotsOffset, 3*testCluster)), msg: "snapshot table (offset 196608, 40 bytes) lies past the end"},
		{name: "bitmap directory past the end", data: qcow2Bytes(bitmaps(104, 1, 32, 3*testCluster)), msg: "bitmap directory (offset 196608, 32 bytes) lies past the end"},

		{name: "L1 table over the header", data: qcow2Bytes(put64(offL1Offset, 0)), msg: "L1 table at offset 0 overlaps the header"},
		{name: "refcount table over the header", data: qcow2Bytes(put64(offRefcountOffset, 0)), msg: "refcount table at offset 0 overlaps the header"},
		{name: "snapshot table over the header", data: qcow2Bytes(put32(offNbSnapshots, 1)), msg: "snapshot table at offset 0 overlaps the header"},
		{name: "L1 table over the refcount table", data: qcow2Bytes(put64(offL1Offset, testCluster)), msg: "refcount table overlaps the L1 table"},
		{name: "snapshot table over the refcount table", data: qcow2Bytes(put32(offNbSnapshots, 1), put64(offSnapshotsOffset, testCluster)), msg: "snapshot table overlaps the refcount table"},
		{name: "L1 table off a cluster boundary", data: qcow2Bytes(put64(offL1Offset, testL1Offset+8)), msg: "L1 table at offset 131080 is not on a cluster boundary"},

		{name: "L1 table of 2^32-1 entries", data: qcow2Bytes(put32(offL1Size, 1<<32-1)), msg: "L1 table of 34359738360 bytes is over QEMU's limit"},
		{name: "refcount table of 2^32-1 clusters", data: qcow2Bytes(put32(offRefcountCluster, 1<<32-1)), msg: "refcount table of 281474976645120 bytes is over QEMU's limit"},
		{name: "2^32-1 snapshots", data: qcow2Bytes(put32(offNbSnapshots, 1<<32-1)), msg: "4294967295 snapshots, over 65536"},
		{name: "2^32-1 bitmaps", data: qcow2Bytes(bitmaps(104, 1<<32-1, 32, 3*testCluster)), msg: "4294967295 bitmaps, over 65535"},
		{name: "bitmap directory of 2^63 bytes", data: qcow2Bytes(bitmaps(104, 1, 1<<63, 3*testCluster)), msg: "bitmap directory of 9223372036854775808 bytes is over"},
		{name: "bitmaps extension cut short", data: qcow2Bytes(extension(104, extBitmaps, "short")), msg: "bitmaps extension of 5 bytes is truncated"},
		{name: "refcount order 7", data: qcow2Bytes(put32(offRefcountOrder, 7)), msg: "refcount order 7 is over 6"},
		{name: "no refcount table", data: qcow2Bytes(put32(offRefcountCluster, 0)), msg: "no refcount table"},
		{name: "L1 table smaller than the virtual size", data: qcow2Bytes(put32(offL1Size, 1), put64(offSize, testCap)), msg: "L1 table of 1 entries is too small for a virtual size of 1073741824 bytes (needs 2)"},
		{name: "L1 table smaller than the virtual size with extended L2", data: qcow2Bytes(put64(offIncompatible, incompatExtendedL2), put64(offSize, testCap)), msg: "(needs 4)"},

		{name: "L1 offset+size wraps around", data: qcow2Bytes(put64(offL1Offset, 1<<64-testCluster), put32(offL1Size, 1<<13)), msg: "L1 table (offset 18446744073709486080, 65536 bytes) lies past the end"},
		{name: "snapshot offset+size wraps around", data: qcow2Bytes(put32(offNbSnapshots, 1<<16), put64(offSnapshotsOffset, 1<<64-testCluster)), msg: "snapshot table (offset 18446744073709486080, 2621440 bytes) lies past the end"},
		{name: "bitmap directory offset+size wraps around", data: qcow2Bytes(bitmaps(104, 1, 1<<16, 1<<64-testCluster)), msg: "bitmap directory (offset 18446744073709486080, 65536 bytes) lies past the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := inspect(bytes.NewReader(tt.data), int64(len(tt.data)), FormatQcow2, testCap)
			switch {
			case tt.msg == "" && err != nil:
				t.Errorf("inspect: %v, want accepted", err)
			case tt.msg != "" && !errors.Is(err, ErrUnsafe):
				t.Errorf("inspect: %v, want ErrUnsafe", err)
			case tt.msg != "" && !strings.Contains(err.Error(), tt.msg):
				t.Errorf("inspect: %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// Every kind of qcow2 qemu-img makes passes the table checks: the layouts QEMU writes are the ones
// the checks expect.
func TestInspectAcceptsEveryQcow2QemuImgMakes(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
		}
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	random := make([]byte, 3<<20)
	for i := range random {
		random[i] = byte(i*7919 + i>>9)
	}
	if err := os.WriteFile(path("data.raw"), random, 0o644); err != nil {
		t.Fatal(err)
	}
	images := map[string][]string{
		"empty":               {"create", "-q", "-f", "qcow2", path("empty"), "64M"},
		"version 2":           {"create", "-q", "-f", "qcow2", "-o", "compat=0.10", path("version 2"), "1G"},
		"zero size":           {"create", "-q", "-f", "qcow2", path("zero size"), "0"},
		"512-byte clusters":   {"create", "-q", "-f", "qcow2", "-o", "cluster_size=512", path("512-byte clusters"), "1G"},
		"2 MiB clusters":      {"create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", path("2 MiB clusters"), "1G"},
		"extended L2, zstd":   {"create", "-q", "-f", "qcow2", "-o", "extended_l2=on,compression_type=zstd", path("extended L2, zstd"), "1G"},
		"64-bit refcounts":    {"create", "-q", "-f", "qcow2", "-o", "refcount_bits=64", path("64-bit refcounts"), "1G"},
		"metadata prealloc":   {"create", "-q", "-f", "qcow2", "-o", "preallocation=metadata", path("metadata prealloc"), "64M"},
		"converted with data": {"convert", "-f", "raw", "-O", "qcow2", path("data.raw"), path("converted with data")},
		"compressed":          {"convert", "-c", "-f", "raw", "-O", "qcow2", path("data.raw"), path("compressed")},
	}
	for _, args := range images {
		run(args...)
	}
	run("snapshot", "-c", "snap1", path("metadata prealloc"))
	run("bitmap", "--add", path("compressed"), "bitmap1")
	for name := range images {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path(name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if err := inspect(f, st.Size(), FormatQcow2, testCap); err != nil {
				t.Errorf("inspect: %v", err)
			}
		})
	}
}
