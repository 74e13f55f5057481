package images

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
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

func TestCreate(t *testing.T) {
	e := newEnv(t)
	img, err := e.svc.Create(context.Background(), CreateRequest{
		ProjectID: projectA, Name: "web", DiskFormat: FormatQcow2, MinDiskGiB: 3, MinRAMMiB: 256,
		Visibility: VisibilityShared, Protected: true, Firmware: FirmwareUEFI, Properties: map[string]string{"os_type": "linux"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Image{
		Meta:   store.Meta{Name: "web", ProjectID: projectA},
		Status: StatusQueued, DiskFormat: FormatQcow2, ContainerFormat: ContainerBare, MinDiskGiB: 3, MinRAMMiB: 256,
		Visibility: VisibilityShared, Protected: true, Firmware: FirmwareUEFI,
		Properties: map[string]string{"os_type": "linux"}, Source: SourceUpload,
	}
	if diff := cmp.Diff(want, img, cmpopts.IgnoreFields(store.Meta{}, "ID", "CreatedAt", "UpdatedAt", "Revision")); diff != "" {
		t.Errorf("created image (-want +got):\n%s", diff)
	}
	if ents := e.dirEntries(); len(ents) != 0 {
		t.Errorf("Create wrote %v", ents)
	}
	// A queued image may be deleted (once unprotected it would be; here protection holds).
	checkErr(t, e.svc.Delete(context.Background(), projectA, "web"), ErrProtected, fault.Conflict)
}

func TestCreateRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name string
		req  CreateRequest
		msg  string
	}{
		{"no format", CreateRequest{Name: "x"}, "disk format"},
		{"unknown format", CreateRequest{Name: "x", DiskFormat: "vpc"}, `disk format "vpc" is not supported`},
		{"unknown container", CreateRequest{Name: "x", DiskFormat: FormatRaw, ContainerFormat: "docker"}, "container format"},
		{"ova of qcow2", CreateRequest{Name: "x", DiskFormat: FormatQcow2, ContainerFormat: ContainerOVA}, "an OVA holds VMDK disks"},
		{"bad name", CreateRequest{Name: "../x", DiskFormat: FormatRaw}, "invalid name"},
		{"bad visibility", CreateRequest{Name: "x", DiskFormat: FormatRaw, Visibility: "community"}, "visibility"},
		{"negative min RAM", CreateRequest{Name: "x", DiskFormat: FormatRaw, MinRAMMiB: -1}, "min RAM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.req.ProjectID = projectA
			_, err := e.svc.Create(context.Background(), tt.req)
			checkErr(t, err, nil, fault.Invalid, tt.msg)
			e.assertNothingLeft()
		})
	}
}

func TestUploadQcow2(t *testing.T) {
	e := newEnv(t)
	src := e.qcow2("disk.qcow2", "16M")
	img, err := e.upload("debian", FormatQcow2, bytes.NewReader(e.read(src)))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(src)
	if img.Status != StatusActive || img.Size != fi.Size() || img.BytesReceived != fi.Size() || img.VirtualSize != 16<<20 ||
		img.Checksum != sha256File(t, src) || img.DiskFormat != FormatQcow2 || img.Fault != "" {
		t.Errorf("uploaded image = %+v", *img)
	}
	if diff := cmp.Diff([]string{img.ID, filepath.Join(img.ID, "disk")}, e.dirEntries()); diff != "" {
		t.Errorf("image dir (-want +got):\n%s", diff)
	}
	checkMode(t, filepath.Join(e.dir, img.ID, "disk"), 0o600)
	if diff := cmp.Diff(img, e.get(img.ID)); diff != "" {
		t.Errorf("returned image differs from the catalog (-returned +stored):\n%s", diff)
	}
}

// Each accepted format: qcow2, raw and iso are stored as they are; vmdk (both binary subformats),
// vhdx and vdi are converted to qcow2 with an explicit -f, and the record keeps the source format.
func TestUploadFormats(t *testing.T) {
	tests := []struct {
		name, format string
		make         func(e *env) string
		wantFormat   string
		wantOriginal string
		wantConvert  string // the qemu-img convert call, "" when none
	}{
		{"qcow2", FormatQcow2, func(e *env) string { return e.qcow2("d", "1M") }, FormatQcow2, "", ""},
		{"raw", FormatRaw, func(e *env) string { return e.write("d", bytes.Repeat([]byte{1}, 1<<20)) }, FormatRaw, "", ""},
		{"iso", FormatISO, func(e *env) string { return e.write("d.iso", isoBytes()) }, FormatISO, "", ""},
		{"vmdk monolithicSparse", FormatVMDK, func(e *env) string { return e.convertTo("d.vmdk", "vmdk", "8M") }, FormatQcow2, FormatVMDK, "convert -q -f vmdk -O qcow2"},
		{"vmdk streamOptimized", FormatVMDK, func(e *env) string {
			return e.convertTo("d.vmdk", "vmdk", "8M", "-o", "subformat=streamOptimized")
		}, FormatQcow2, FormatVMDK, "convert -q -f vmdk -O qcow2"},
		{"vhdx", FormatVHDX, func(e *env) string { return e.convertTo("d.vhdx", "vhdx", "8M") }, FormatQcow2, FormatVHDX, "convert -q -f vhdx -O qcow2"},
		{"vdi", FormatVDI, func(e *env) string { return e.convertTo("d.vdi", "vdi", "8M") }, FormatQcow2, FormatVDI, "convert -q -f vdi -O qcow2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			src := tt.make(e)
			img, err := e.upload("img", tt.format, bytes.NewReader(e.read(src)))
			if err != nil {
				t.Fatal(err)
			}
			if img.Status != StatusActive || img.DiskFormat != tt.wantFormat || img.Properties[PropOriginalDiskFormat] != tt.wantOriginal {
				t.Errorf("image = %+v", *img)
			}
			disk := filepath.Join(e.dir, img.ID, "disk")
			if got := sha256File(t, disk); got != img.Checksum {
				t.Errorf("stored disk sha256 %s, record says %s", got, img.Checksum)
			}
			if diff := cmp.Diff([]string{img.ID, filepath.Join(img.ID, "disk")}, e.dirEntries()); diff != "" {
				t.Errorf("image dir (-want +got):\n%s", diff)
			}
			calls := strings.Join(e.qemuImgCalls(), "\n")
			if tt.wantConvert != "" && !strings.Contains(calls, tt.wantConvert) {
				t.Errorf("qemu-img calls %q lack %q", calls, tt.wantConvert)
			}
			for _, c := range e.qemuImgCalls() {
				if !strings.Contains(c, " -f ") {
					t.Errorf("qemu-img ran without an explicit format: %q", c)
				}
			}
			bf, err := e.svc.BootFiles(context.Background(), projectA, "img")
			if err != nil || bf.DiskFormat != driverFormat(tt.wantFormat) {
				t.Errorf("BootFiles = %+v, %v", bf, err)
			}
		})
	}
}

// isoBytes is a minimal ISO 9660 image: a system area and one primary volume descriptor.
func isoBytes() []byte {
	b := make([]byte, isoMinSize+2048)
	b[isoFirstVolDesc] = 1
	copy(b[isoOffMagic:], isoMagic)
	b[isoOffMagic+5] = 1
	return b
}

// Every bad upload of SECURITY.md ends killed with the reason, no file left, and qemu-img never
// ran on what Go inspection refused.
func TestUploadRejectsBadInput(t *testing.T) {
	cutOff := errors.New("connection reset by peer")
	tests := []struct {
		name        string
		opts        []func(*Options)
		format      string
		body        func(e *env) io.Reader
		want        error
		kind        fault.Kind
		msg         string
		qemuImgRuns bool
	}{
		{
			name: "qcow2 backed by a host file", format: FormatQcow2,
			body: func(e *env) io.Reader {
				return bytes.NewReader(e.read(e.qcow2("evil", "1M", "-u", "-b", "/etc/passwd", "-F", "raw")))
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: `backing file "/etc/passwd"`,
		},
		{
			name: "qcow2 with an external data file", format: FormatQcow2,
			body: func(e *env) io.Reader {
				return bytes.NewReader(e.read(e.qcow2("evil", "1M", "-o", "data_file="+filepath.Join(e.src, "host-file"))))
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: "external data file",
		},
		{
			name: "vmdk flat descriptor", format: FormatVMDK,
			body: func(e *env) io.Reader {
				return strings.NewReader("# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"/etc/shadow\" 0\n")
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: "CVE-2022-47951",
		},
		{
			name: "qcow2 claiming 8 EiB", format: FormatQcow2,
			body: func(e *env) io.Reader {
				data := e.read(e.qcow2("big", "1M"))
				binary.BigEndian.PutUint64(data[offSize:], 8<<60)
				return bytes.NewReader(data)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: "virtual size 9223372036854775807 bytes is over the host cap",
		},
		{
			name: "truncated qcow2", format: FormatQcow2,
			body: func(e *env) io.Reader { return bytes.NewReader(e.read(e.qcow2("short", "1M"))[:90]) },
			want: ErrUnsafe, kind: fault.Invalid, msg: "qcow2 version 3 header is truncated",
		},
		{
			name: "qcow2 refcount table off a cluster boundary", format: FormatQcow2,
			body: func(e *env) io.Reader {
				data := e.read(e.qcow2("bad", "1M"))
				copy(data[offRefcountOffset:], []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x08})
				return bytes.NewReader(data)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: "refcount table at offset 9223372036854710280 is not on a cluster boundary",
		},
		{
			name: "qcow2 metadata qemu-img refuses", format: FormatQcow2,
			body: func(e *env) io.Reader {
				data := e.read(e.qcow2("bad", "1M"))
				data[qcow2V3MinHeader] = 1 // zstd, without its incompatible feature bit
				return bytes.NewReader(data)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: "Compression type incompatible feature bit must be set", qemuImgRuns: true,
		},
		{
			name: "qcow2 truncated after its header", format: FormatQcow2,
			body: func(e *env) io.Reader { return bytes.NewReader(e.read(e.qcow2("whole", "64M"))[:300]) },
			want: ErrUnsafe, kind: fault.Invalid, msg: "L1 table (offset 196608, 8 bytes) lies past the end of the 300-byte file",
		},
		{
			name: "qcow2 truncated in its data", format: FormatQcow2,
			body: func(e *env) io.Reader { return bytes.NewReader(e.read(e.qcow2CutInData("cut"))) },
			want: ErrUnsafe, kind: fault.Invalid, msg: "qemu-img check found 13 corruptions", qemuImgRuns: true,
		},
		{
			name: "polyglot: vdi signature in a vmdk", format: FormatVMDK,
			body: func(e *env) io.Reader {
				data := e.read(e.convertTo("d.vmdk", "vmdk", "1M"))
				copy(data[vdiOffMagic:], []byte{0x7f, 0x10, 0xda, 0xbe}) // also a VDI signature
				return bytes.NewReader(data)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: "also carries a vdi signature",
		},
		{
			name: "polyglot: qcow2 claimed as iso", format: FormatISO,
			body: func(e *env) io.Reader {
				iso := isoBytes()
				copy(iso, e.read(e.qcow2("q", "1M"))[:512])
				return bytes.NewReader(iso)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: "also carries a qcow2 signature",
		},
		{
			name: "polyglot: qcow2 magic on a vdi", format: FormatVDI,
			body: func(e *env) io.Reader {
				data := e.read(e.convertTo("d.vdi", "vdi", "1M"))
				copy(data, qcow2Magic)
				return bytes.NewReader(data)
			},
			want: ErrUnsafe, kind: fault.Invalid, msg: "also carries a qcow2 signature",
		},
		{
			name: "upload cut off half-way", format: FormatRaw,
			body: func(e *env) io.Reader {
				return &failingReader{r: bytes.NewReader(make([]byte, 3<<20)), err: cutOff}
			},
			want: ErrInvalid, kind: fault.Invalid, msg: "upload cut off",
		},
		{
			name: "body larger than the cap", format: FormatRaw, opts: []func(*Options){func(o *Options) { o.MaxUploadBytes = 1 << 20 }},
			body: func(e *env) io.Reader { return bytes.NewReader(make([]byte, 1<<20+1)) },
			want: ErrTooLarge, kind: fault.TooLarge, msg: "larger than the cap of 1048576 bytes",
		},
		{
			name: "disk full in the middle of the upload", format: FormatRaw,
			opts: []func(*Options){},
			body: func(e *env) io.Reader {
				e.svc.wrapWriter = func(w io.Writer) io.Writer { return &failingWriter{w: w, limit: 1 << 20, err: syscall.ENOSPC} }
				return bytes.NewReader(make([]byte, 4<<20))
			},
			want: ErrNoSpace, kind: fault.NoCapacity, msg: "no space left",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts...)
			body := tt.body(e)
			img, err := e.upload("bad", tt.format, body)
			if img != nil {
				t.Errorf("Upload returned image %+v with error %v", *img, err)
			}
			checkErr(t, err, tt.want, tt.kind, tt.msg)
			e.assertKilledClean("bad", tt.msg)
			if calls := e.qemuImgCalls(); len(calls) > 0 && !tt.qemuImgRuns {
				t.Errorf("qemu-img ran on data rejected in Go: %q", calls)
			}
			// The killed image can be deleted, leaving nothing.
			if err := e.svc.Delete(context.Background(), projectA, "bad"); err != nil {
				t.Fatal(err)
			}
			e.assertNothingLeft()
		})
	}
}

func TestUploadStates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.create("once", FormatRaw)
	if _, err := e.svc.Upload(ctx, projectA, "once", bytes.NewReader(make([]byte, 512))); err != nil {
		t.Fatal(err)
	}
	t.Run("second upload to an active image", func(t *testing.T) {
		_, err := e.svc.Upload(ctx, projectA, "once", bytes.NewReader(make([]byte, 512)))
		checkErr(t, err, ErrInvalidState, fault.Conflict, "is active")
	})
	t.Run("upload to a killed image", func(t *testing.T) {
		e.upload("dead", FormatQcow2, strings.NewReader("not qcow2 at all, far too short"))
		_, err := e.svc.Upload(ctx, projectA, "dead", bytes.NewReader(make([]byte, 512)))
		checkErr(t, err, ErrInvalidState, fault.Conflict, "is killed")
	})
	t.Run("upload to a file import", func(t *testing.T) {
		e.importIn(projectA, "file", VisibilityPrivate)
		_, err := e.svc.Upload(ctx, projectA, "file", bytes.NewReader(make([]byte, 512)))
		checkErr(t, err, ErrInvalidState, fault.Conflict)
	})
	t.Run("another project's image", func(t *testing.T) {
		_, err := e.svc.Upload(ctx, projectB, "once", bytes.NewReader(nil))
		checkErr(t, err, ErrNotFound, fault.NotFound)
	})
	t.Run("a queued image can be deleted", func(t *testing.T) {
		e.create("never", FormatRaw)
		if err := e.svc.Delete(ctx, projectA, "never"); err != nil {
			t.Fatal(err)
		}
	})
}

// While an upload runs the record says saving and how many bytes arrived.
func TestUploadProgress(t *testing.T) {
	e := newEnv(t)
	e.svc.progressStep = 1 << 20
	img := e.create("slow", FormatRaw)
	var seen []int64
	body := &observingReader{r: bytes.NewReader(make([]byte, 32<<20)), each: func() {
		rec := e.get(img.ID)
		if rec.Status != StatusSaving {
			t.Errorf("status during upload %s, want saving", rec.Status)
		}
		seen = append(seen, rec.BytesReceived)
	}}
	if _, err := e.svc.Upload(context.Background(), projectA, "slow", body); err != nil {
		t.Fatal(err)
	}
	if len(seen) < 4 || seen[len(seen)-1] < 4<<20 {
		t.Errorf("bytes_received seen during the upload: %v", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Errorf("bytes_received went backwards: %v", seen)
		}
	}
}

// observingReader calls each before every read.
type observingReader struct {
	r    io.Reader
	each func()
}

func (o *observingReader) Read(p []byte) (int, error) {
	o.each()
	return o.r.Read(p)
}
