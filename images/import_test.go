package images

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// Offsets of qcow2 header bytes the tests patch (see inspect.go).
const (
	lastIncompatByte  = offIncompatible + 7 // bits 0..7
	firstIncompatByte = offIncompatible     // bits 56..63
)

var canary = []byte("CANARY-host-secret-7d1f")

func TestImportFileRejectsBadInput(t *testing.T) {
	tests := []struct {
		name        string
		opts        []func(*Options)
		req         func(e *env) ImportFileRequest
		want        error
		kind        fault.Kind
		msg         []string
		qemuImgRuns bool // whether qemu-img may see the file at all
	}{
		{
			name: "qcow2 backed by a host file",
			req: func(e *env) ImportFileRequest {
				return e.request("evil", e.qcow2("evil.qcow2", "1M", "-u", "-b", "/etc/passwd", "-F", "raw"), FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"backing file", `"/etc/passwd"`},
		},
		{
			name: "qcow2 with an external data file",
			req: func(e *env) ImportFileRequest {
				data := filepath.Join(e.src, "host-file")
				p := e.qcow2("evil.qcow2", "1M", "-o", "data_file="+data)
				e.patch(data, 0, canary)
				return e.request("evil", p, FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"external data file"},
		},
		{
			name: "qcow2 naming a data file without the feature bit",
			req: func(e *env) ImportFileRequest {
				p := e.qcow2("evil.qcow2", "1M", "-o", "data_file="+filepath.Join(e.src, "host-file"))
				e.patch(p, lastIncompatByte, []byte{0})
				return e.request("evil", p, FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"names an external data file"},
		},
		{
			name: "qcow2 marked corrupt",
			req: func(e *env) ImportFileRequest {
				p := e.qcow2("bad.qcow2", "1M")
				e.orByte(p, lastIncompatByte, incompatCorrupt)
				return e.request("bad", p, FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"corrupt"},
		},
		{
			name: "qcow2 with an unknown incompatible feature",
			req: func(e *env) ImportFileRequest {
				p := e.qcow2("bad.qcow2", "1M")
				e.orByte(p, lastIncompatByte, 1<<5)
				return e.request("bad", p, FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"unknown incompatible features 0x20"},
		},
		{
			name: "qcow2 with the highest incompatible feature bit",
			req: func(e *env) ImportFileRequest {
				p := e.qcow2("bad.qcow2", "1M")
				e.orByte(p, firstIncompatByte, 0x80)
				return e.request("bad", p, FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"0x8000000000000000"},
		},
		{
			name: "encrypted qcow2",
			req: func(e *env) ImportFileRequest {
				p := e.qcow2("enc.qcow2", "1M")
				e.patch(p, offCryptMethod+3, []byte{1})
				return e.request("enc", p, FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"encrypted"},
		},
		{
			name: "qcow2 version 1",
			req: func(e *env) ImportFileRequest {
				p := e.qcow2("old.qcow2", "1M")
				e.patch(p, offVersion, []byte{0, 0, 0, 1})
				return e.request("old", p, FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"version 1"},
		},
		{
			name: "qcow2 header length not a multiple of 8",
			req: func(e *env) ImportFileRequest {
				p := e.qcow2("bad.qcow2", "1M")
				e.patch(p, offHeaderLength, []byte{0, 0, 0, 105})
				return e.request("bad", p, FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"header length 105"},
		},
		{
			name: "raw file imported as qcow2",
			req: func(e *env) ImportFileRequest {
				return e.request("mismatch", e.write("disk.raw", bytes.Repeat([]byte{0xab}, 1<<16)), FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"not a qcow2 image"},
		},
		{
			name: "qcow2 whose metadata qemu-img refuses",
			req: func(e *env) ImportFileRequest {
				p := e.qcow2("bad.qcow2", "1M")
				e.patch(p, qcow2V3MinHeader, []byte{1}) // zstd, without its incompatible feature bit
				return e.request("bad", p, FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"qemu-img info -f qcow2 refused", "Compression type incompatible feature bit must be set"},
			qemuImgRuns: true,
		},
		{
			name: "qcow2 truncated after its header",
			req: func(e *env) ImportFileRequest {
				return e.request("cut", e.write("cut.qcow2", e.read(e.qcow2("whole.qcow2", "64M"))[:300]), FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"L1 table", "lies past the end of the 300-byte file", "truncated"},
		},
		{
			name: "qcow2 truncated in its data",
			req: func(e *env) ImportFileRequest {
				return e.request("cut", e.qcow2CutInData("cut.qcow2"), FormatQcow2)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"qemu-img check found", "corruptions"},
			qemuImgRuns: true,
		},
		{
			name: "virtual size over the default host cap",
			req:  func(e *env) ImportFileRequest { return e.request("big", e.qcow2("big.qcow2", "3T"), FormatQcow2) },
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"virtual size 3298534883328 bytes is over the host cap of 2199023255552"},
		},
		{
			name: "qcow2 over a small cap",
			opts: []func(*Options){withCap(1 << 20)},
			req:  func(e *env) ImportFileRequest { return e.request("big", e.qcow2("big.qcow2", "2M"), FormatQcow2) },
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"over the host cap of 1048576"},
		},
		{
			name: "raw over a small cap",
			opts: []func(*Options){withCap(1 << 20)},
			req: func(e *env) ImportFileRequest {
				return e.request("big", e.write("big.raw", make([]byte, 2<<20)), FormatRaw)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: []string{"2097152 bytes, over the cap of 1048576"},
		},
		{
			name: "missing disk file",
			req:  func(e *env) ImportFileRequest { return e.request("x", filepath.Join(e.src, "nope"), FormatRaw) },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"disk file", "does not exist"},
		},
		{
			name: "disk path with a newline",
			req:  func(e *env) ImportFileRequest { return e.request("x", "disk\n.raw", FormatRaw) },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"printable characters"},
		},
		{
			name: "no disk path",
			req:  func(e *env) ImportFileRequest { return e.request("x", "", FormatRaw) },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"path is required"},
		},
		{
			name: "directory as disk",
			req:  func(e *env) ImportFileRequest { return e.request("x", e.src, FormatRaw) },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"not a regular file"},
		},
		{
			name: "FIFO as disk",
			req: func(e *env) ImportFileRequest {
				p := filepath.Join(e.src, "fifo")
				if err := syscall.Mkfifo(p, 0o600); err != nil {
					e.t.Fatal(err)
				}
				return e.request("x", p, FormatRaw)
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"not a regular file"},
		},
		{
			name: "missing kernel",
			req: func(e *env) ImportFileRequest {
				r := e.request("x", e.write("disk.raw", make([]byte, 4096)), FormatRaw)
				r.KernelPath = filepath.Join(e.src, "vmlinuz")
				return r
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"kernel file", "does not exist"},
		},
		{
			name: "format outside the allow-list",
			req: func(e *env) ImportFileRequest {
				return e.request("x", e.write("d.vhd", []byte("conectix")), "vpc")
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{`disk format "vpc" is not supported: use one of qcow2, raw, iso, vmdk, vhdx, vdi`},
		},
		{
			name: "no disk format",
			req:  func(e *env) ImportFileRequest { return e.request("x", e.write("d", make([]byte, 512)), "") },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"use one of qcow2, raw"},
		},
		{
			name: "unknown firmware",
			req: func(e *env) ImportFileRequest {
				r := e.request("x", "/d", FormatRaw)
				r.Firmware = "coreboot"
				return r
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"use one of bios, uefi"},
		},
		{
			name: "unknown visibility",
			req: func(e *env) ImportFileRequest {
				r := e.request("x", "/d", FormatRaw)
				r.Visibility = "community"
				return r
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"use one of private, shared, public"},
		},
		{
			name: "no project",
			req:  func(e *env) ImportFileRequest { r := e.request("x", "/d", FormatRaw); r.ProjectID = ""; return r },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"project is required"},
		},
		{
			name: "absurd min disk",
			req:  func(e *env) ImportFileRequest { r := e.request("x", "/d", FormatRaw); r.MinDiskGiB = 1 << 40; return r },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"min disk"},
		},
		{
			name: "negative min disk",
			req:  func(e *env) ImportFileRequest { r := e.request("x", "/d", FormatRaw); r.MinDiskGiB = -1; return r },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"min disk -1"},
		},
		{
			name: "absurd min RAM",
			req:  func(e *env) ImportFileRequest { r := e.request("x", "/d", FormatRaw); r.MinRAMMiB = 1 << 30; return r },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"min RAM"},
		},
		{
			name: "negative min RAM",
			req:  func(e *env) ImportFileRequest { r := e.request("x", "/d", FormatRaw); r.MinRAMMiB = -5; return r },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"min RAM -5"},
		},
		{
			name: "cmdline with a newline",
			req: func(e *env) ImportFileRequest {
				return withKernel(e.request("x", "/d", FormatRaw), "console=ttyS0\ninit=/bin/sh")
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"control characters"},
		},
		{
			name: "cmdline with a NUL",
			req:  func(e *env) ImportFileRequest { return withKernel(e.request("x", "/d", FormatRaw), "quiet\x00") },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"control characters"},
		},
		{
			name: "cmdline too long",
			req: func(e *env) ImportFileRequest {
				return withKernel(e.request("x", "/d", FormatRaw), strings.Repeat("a", MaxCmdlineLen+1))
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"1025 bytes, the limit is 1024"},
		},
		{
			name: "cmdline without a kernel",
			req:  func(e *env) ImportFileRequest { r := e.request("x", "/d", FormatRaw); r.Cmdline = "quiet"; return r },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"needs a kernel"},
		},
		{
			name: "initrd without a kernel",
			req:  func(e *env) ImportFileRequest { r := e.request("x", "/d", FormatRaw); r.InitrdPath = "/i"; return r },
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"initrd needs a kernel"},
		},
		{
			name: "property key with a space",
			req: func(e *env) ImportFileRequest {
				return withProps(e.request("x", "/d", FormatRaw), map[string]string{"os type": "linux"})
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{`property key "os type"`},
		},
		{
			name: "property value too long",
			req: func(e *env) ImportFileRequest {
				return withProps(e.request("x", "/d", FormatRaw), map[string]string{"os_type": strings.Repeat("x", MaxPropertyValueLen+1)})
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"property os_type"},
		},
		{
			name: "property value with a control character",
			req: func(e *env) ImportFileRequest {
				return withProps(e.request("x", "/d", FormatRaw), map[string]string{"default_user": "root\n"})
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"property default_user"},
		},
		{
			name: "too many properties",
			req: func(e *env) ImportFileRequest {
				props := map[string]string{}
				for i := range MaxProperties + 1 {
					props[strings.Repeat("k", i+1)] = "v"
				}
				return withProps(e.request("x", "/d", FormatRaw), props)
			},
			want: ErrInvalid, kind: fault.Invalid, msg: []string{"129 properties, the limit is 128"},
		},
	}
	for _, name := range []string{"../x", "a,b", "-x", "up per", "a/b", "", "x..y", "b4e28ba0-2fa1-4d2b-a1b3-5e4a7c9d0f12", strings.Repeat("a", 64)} {
		tests = append(tests, struct {
			name        string
			opts        []func(*Options)
			req         func(e *env) ImportFileRequest
			want        error
			kind        fault.Kind
			msg         []string
			qemuImgRuns bool
		}{
			name: "bad name " + name,
			req: func(e *env) ImportFileRequest {
				return e.request(name, e.write("disk.raw", make([]byte, 4096)), FormatRaw)
			},
			want: store.ErrInvalid, kind: fault.Invalid, msg: []string{"invalid name"},
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts...)
			img, err := e.svc.ImportFile(context.Background(), tt.req(e))
			if img != nil {
				t.Errorf("ImportFile returned image %+v with error %v", *img, err)
			}
			checkErr(t, err, tt.want, tt.kind, tt.msg...)
			t.Logf("error: %v", err)
			e.assertNothingLeft()
			if calls := e.qemuImgCalls(); len(calls) > 0 && !tt.qemuImgRuns {
				t.Errorf("qemu-img ran on a file rejected in Go: %q", calls)
			}
			if containsFileWith(t, e.dir, canary) {
				t.Errorf("the host file's bytes appear under the image dir")
			}
		})
	}
}

func withKernel(r ImportFileRequest, cmdline string) ImportFileRequest {
	r.KernelPath, r.Cmdline = "/boot/vmlinuz", cmdline
	return r
}

func withProps(r ImportFileRequest, props map[string]string) ImportFileRequest {
	r.Properties = props
	return r
}

func TestImportFileQcow2(t *testing.T) {
	e := newEnv(t)
	src := e.qcow2("debian.qcow2", "16M")
	r := e.request("debian-12", src, FormatQcow2)
	r.MinDiskGiB, r.MinRAMMiB, r.Properties = 2, 512, map[string]string{"os_type": "linux", "default_user": "debian"}
	img := e.mustImport(r)

	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	want := &Image{
		Meta:   store.Meta{Name: "debian-12", ProjectID: projectA},
		Status: StatusActive, DiskFormat: FormatQcow2, ContainerFormat: ContainerBare,
		Size: fi.Size(), VirtualSize: 16 << 20, Checksum: sha256File(t, src),
		MinDiskGiB: 2, MinRAMMiB: 512, Visibility: VisibilityPrivate, Firmware: FirmwareBIOS,
		Properties: map[string]string{"os_type": "linux", "default_user": "debian"}, Source: SourceFile,
	}
	ignoreStoreFields := cmpopts.IgnoreFields(store.Meta{}, "ID", "CreatedAt", "UpdatedAt", "Revision")
	if diff := cmp.Diff(want, img, ignoreStoreFields); diff != "" {
		t.Errorf("imported image (-want +got):\n%s", diff)
	}
	got, err := e.svc.Get(context.Background(), projectA, "debian-12")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(img, got); diff != "" {
		t.Errorf("Get after import (-import +get):\n%s", diff)
	}
	if diff := cmp.Diff([]string{img.ID, filepath.Join(img.ID, "disk")}, e.dirEntries()); diff != "" {
		t.Errorf("image dir (-want +got):\n%s", diff)
	}
	checkMode(t, filepath.Join(e.dir, img.ID), 0o700)
	checkMode(t, filepath.Join(e.dir, img.ID, "disk"), 0o600)
	if got := sha256File(t, filepath.Join(e.dir, img.ID, "disk")); got != img.Checksum {
		t.Errorf("stored disk sha256 %s, record says %s", got, img.Checksum)
	}
	calls := e.qemuImgCalls()
	if len(calls) != 2 || !strings.HasPrefix(calls[0], "info -f qcow2 --output=json "+filepath.Join(e.dir, img.ID)+"/") ||
		!strings.HasPrefix(calls[1], "check -f qcow2 --output=json "+filepath.Join(e.dir, img.ID)+"/") {
		t.Errorf("qemu-img calls %q, want `info -f qcow2 --output=json <file in the image dir>`, then `check` of it", calls)
	}
}

func TestImportFileRaw(t *testing.T) {
	e := newEnv(t)
	data := bytes.Repeat([]byte("cloudlet"), 1<<17) // 1 MiB
	src := e.write("disk.raw", data)
	img := e.mustImport(e.request("raw", src, FormatRaw))
	if img.Size != 1<<20 || img.VirtualSize != 1<<20 || img.Checksum != sha256File(t, src) {
		t.Errorf("image %+v: want size = virtual size = 1 MiB and the source's sha256", *img)
	}
}

func TestImportFileKernelInitrd(t *testing.T) {
	e := newEnv(t)
	r := e.request("direct", e.write("disk.raw", make([]byte, 1<<20)), FormatRaw)
	r.KernelPath = e.write("vmlinuz", []byte("not really a kernel, but bytes to copy"))
	r.InitrdPath = e.write("initrd.img", bytes.Repeat([]byte{7}, 3<<20+11))
	r.Cmdline, r.Firmware, r.Visibility = "console=ttyS0 root=/dev/vda rw", FirmwareUEFI, VisibilityPublic
	img := e.mustImport(r)
	if !img.HasKernel || !img.HasInitrd || img.Cmdline != r.Cmdline || img.Firmware != FirmwareUEFI || img.Visibility != VisibilityPublic {
		t.Errorf("image %+v: want kernel, initrd, cmdline, uefi, public", *img)
	}

	bf, err := e.svc.BootFiles(context.Background(), projectA, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, img.ID)
	want := BootFiles{
		ImageID: img.ID, Disk: filepath.Join(dir, "disk"), DiskFormat: FormatRaw,
		Kernel: filepath.Join(dir, "kernel"), Initrd: filepath.Join(dir, "initrd"),
		Cmdline: r.Cmdline, Firmware: FirmwareUEFI, VirtualSize: 1 << 20,
	}
	if diff := cmp.Diff(want, bf); diff != "" {
		t.Errorf("BootFiles (-want +got):\n%s", diff)
	}
	for stored, source := range map[string]string{bf.Disk: r.Path, bf.Kernel: r.KernelPath, bf.Initrd: r.InitrdPath} {
		if sha256File(t, stored) != sha256File(t, source) {
			t.Errorf("%s differs from its source %s", stored, source)
		}
		checkMode(t, stored, 0o600)
	}
	if diff := cmp.Diff([]string{img.ID, filepath.Join(img.ID, "disk"), filepath.Join(img.ID, "initrd"), filepath.Join(img.ID, "kernel")}, e.dirEntries()); diff != "" {
		t.Errorf("image dir (-want +got):\n%s", diff)
	}
}

func TestImportFileDuplicateName(t *testing.T) {
	e := newEnv(t)
	src := e.write("disk.raw", make([]byte, 4096))
	first := e.mustImport(e.request("dup", src, FormatRaw))
	_, err := e.svc.ImportFile(context.Background(), e.request("dup", src, FormatRaw))
	checkErr(t, err, store.ErrConflict, fault.Conflict, `"dup" already exists`)
	if diff := cmp.Diff([]string{first.ID, filepath.Join(first.ID, "disk")}, e.dirEntries()); diff != "" {
		t.Errorf("image dir (-want +got):\n%s", diff)
	}

	other := e.request("dup", src, FormatRaw)
	other.ProjectID = projectB
	e.mustImport(other) // names are unique per project only
}

// A failure after the record exists (here: the context ends during the copy) removes the record
// and the image directory.
func TestImportFileCancelled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.svc.ImportFile(ctx, e.request("late", e.write("disk.raw", make([]byte, 4096)), FormatRaw))
	checkErr(t, err, context.Canceled, fault.Internal, "import image late")
	e.assertNothingLeft()
}

func TestImportFileQemuImgMissing(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.QemuImg = "/nonexistent/qemu-img" })
	_, err := e.svc.ImportFile(context.Background(), e.request("x", e.write("disk.raw", make([]byte, 4096)), FormatRaw))
	checkErr(t, err, nil, fault.Internal, "/nonexistent/qemu-img")
	e.assertNothingLeft()
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}
