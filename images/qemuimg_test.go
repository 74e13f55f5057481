package images

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
)

func TestInfoArgv(t *testing.T) {
	tests := []struct {
		name string
		q    qemuImg
		want []string
	}{
		{
			name: "without prlimit",
			q:    qemuImg{path: "/usr/bin/qemu-img"},
			want: []string{"/usr/bin/qemu-img", "info", "-f", "raw", "--output=json", "/images/id/disk"},
		},
		{
			name: "under prlimit",
			q:    qemuImg{path: "qemu-img", prlimit: "/usr/bin/prlimit"},
			want: []string{"/usr/bin/prlimit", "--as=1073741824", "--cpu=30", "--", "qemu-img", "info", "-f", "raw", "--output=json", "/images/id/disk"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.q.infoArgv(FormatRaw, "/images/id/disk")); diff != "" {
				t.Errorf("infoArgv (-want +got):\n%s", diff)
			}
		})
	}
}

// qemu-img check runs under info's limits, reads the image as qcow2 and never repairs it.
func TestCheckArgv(t *testing.T) {
	q := qemuImg{path: "qemu-img", prlimit: "/usr/bin/prlimit"}
	want := []string{"/usr/bin/prlimit", "--as=1073741824", "--cpu=30", "--", "qemu-img", "check", "-f", "qcow2", "--output=json", "/images/id/.upload-1.tmp"}
	if diff := cmp.Diff(want, q.checkArgv("/images/id/.upload-1.tmp")); diff != "" {
		t.Errorf("checkArgv (-want +got):\n%s", diff)
	}
}

// An image qemu-img check finds corrupt, or cannot check, is refused; one with only leaked
// clusters passes.
func TestCheckClassifiesTheReport(t *testing.T) {
	tests := []struct {
		name   string
		script string
		msg    string // "": passes
	}{
		{name: "clean", script: `echo '{"check-errors": 0}'`},
		{name: "leaks only", script: `echo '{"leaks": 3, "check-errors": 0}'; exit 3`},
		{name: "corruptions", script: `echo '{"corruptions": 13, "check-errors": 0}'; exit 2`, msg: "qemu-img check found 13 corruptions"},
		{name: "check errors", script: `echo '{"check-errors": 2}'; exit 2`, msg: "could not read the image: 2 errors"},
		{name: "cannot open", script: `echo "qemu-img: Could not open '$5': bad" >&2; exit 1`, msg: "check -f qcow2 refused the image (exit status 1): qemu-img: Could not open 'image': bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := qemuImg{path: fakeQemuImg(t, tt.script)}.check(context.Background(), "/images/id/.upload-1.tmp")
			if tt.msg == "" {
				if err != nil {
					t.Errorf("check: %v, want it to pass", err)
				}
				return
			}
			checkErr(t, err, ErrUnsafe, fault.Invalid, tt.msg)
		})
	}
}

// Conversions run under the same wrapper, with their own limits, and never probe the source.
func TestConvertArgv(t *testing.T) {
	q := qemuImg{path: "qemu-img", prlimit: "/usr/bin/prlimit"}
	want := []string{"/usr/bin/prlimit", "--as=2147483648", "--cpu=3600", "--", "qemu-img", "convert", "-q", "-f", "vmdk", "-O", "qcow2", "/images/id/.upload-1.tmp", "/images/id/.convert-2.tmp"}
	if diff := cmp.Diff(want, q.convertArgv(FormatVMDK, "/images/id/.upload-1.tmp", "/images/id/.convert-2.tmp")); diff != "" {
		t.Errorf("convertArgv (-want +got):\n%s", diff)
	}
}

// A conversion that fails for lack of space is the host's problem (no_capacity), not the image's.
func TestConvertNoSpace(t *testing.T) {
	q := qemuImg{path: fakeQemuImg(t, `echo "qemu-img: error while writing at byte 0: No space left on device" >&2; exit 1`)}
	err := q.convert(context.Background(), FormatVDI, "/images/id/.upload-1.tmp", "/images/id/.convert-1.tmp")
	checkErr(t, err, ErrNoSpace, fault.NoCapacity, "no space left")
	q = qemuImg{path: fakeQemuImg(t, `echo "qemu-img: Could not open '$7': bad" >&2; exit 1`)}
	err = q.convert(context.Background(), FormatVDI, "/images/id/.upload-1.tmp", "/images/id/.convert-1.tmp")
	checkErr(t, err, ErrUnsafe, fault.Invalid, "convert -f vdi refused the image", "Could not open 'image': bad")
}

func TestParseInfo(t *testing.T) {
	tests := []struct {
		name   string
		format string
		out    string
		want   int64  // virtual size when accepted
		msg    string // part of the ErrUnsafe message, "" when accepted
	}{
		{name: "qcow2", format: FormatQcow2, out: `{"virtual-size": 1048576, "format": "qcow2", "format-specific": {"type": "qcow2", "data": {"compat": "1.1"}}}`, want: 1 << 20},
		{name: "raw", format: FormatRaw, out: `{"virtual-size": 512, "format": "raw"}`, want: 512},
		{name: "format mismatch", format: FormatQcow2, out: `{"virtual-size": 512, "format": "raw"}`, msg: `read the image as "raw", not qcow2`},
		{name: "backing filename", format: FormatQcow2, out: `{"virtual-size": 1, "format": "qcow2", "backing-filename": "/etc/passwd"}`, msg: `backing-filename "/etc/passwd"`},
		{name: "full backing filename", format: FormatQcow2, out: `{"virtual-size": 1, "format": "qcow2", "full-backing-filename": "/etc/passwd"}`, msg: "full-backing-filename"},
		{name: "nested data file", format: FormatQcow2, out: `{"virtual-size": 1, "format": "qcow2", "format-specific": {"data": {"data-file": "/dev/sda"}}}`, msg: `data-file "/dev/sda"`},
		{name: "backing chain", format: FormatQcow2, out: `[{"format": "qcow2"}, {"backing-image": {}}]`, msg: "backing-image"},
		{name: "no virtual size", format: FormatRaw, out: `{"format": "raw"}`, msg: "no virtual size"},
		{name: "negative virtual size", format: FormatRaw, out: `{"format": "raw", "virtual-size": -1}`, msg: "no virtual size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := parseInfo([]byte(tt.out), tt.format)
			if tt.msg == "" {
				if err != nil || *info.VirtualSize != tt.want {
					t.Errorf("parseInfo = %+v, %v; want virtual size %d", info, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("parseInfo error %v, want ErrUnsafe mentioning %q", err, tt.msg)
			}
		})
	}
	if _, err := parseInfo([]byte("not json"), FormatRaw); err == nil || fault.KindOf(err) != fault.Internal {
		t.Errorf("parseInfo(garbage) = %v, want an internal error", err)
	}
}

// qemu-img runs under the address-space and CPU limits: a fake one reports its ulimits.
func TestInfoRunsUnderLimits(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is required: %v", err)
	}
	q := qemuImg{path: fakeQemuImg(t, `echo "as=$(ulimit -v) cpu=$(ulimit -t)" >&2; exit 1`), prlimit: prlimit}
	_, err = q.info(context.Background(), FormatRaw, "/x")
	checkErr(t, err, ErrUnsafe, fault.Invalid, "as=1048576 cpu=30") // ulimit -v is in KiB
}

// fakeQemuImg writes a script standing in for qemu-img.
func fakeQemuImg(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu-img")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A qemu-img that misbehaves on a crafted image is the image's fault; one that cannot run is the host's.
func TestInfoFailures(t *testing.T) {
	prlimit, _ := exec.LookPath("prlimit")
	tests := []struct {
		name string
		body string
		want error
		kind fault.Kind
		msg  string
	}{
		{name: "refuses", body: `echo "qemu-img: Could not open '$5': bad" >&2; exit 1`, want: ErrUnsafe, kind: fault.Invalid, msg: "Could not open 'image': bad"},
		{name: "floods stdout", body: `yes '{"format": "raw",'`, want: ErrUnsafe, kind: fault.Invalid, msg: "wrote more than"},
		{name: "killed by a signal", body: `kill -KILL $$`, want: ErrUnsafe, kind: fault.Invalid, msg: "signal: killed"},
	}
	for _, tt := range tests {
		for _, limiter := range []string{"", prlimit} {
			t.Run(tt.name+" prlimit="+limiter, func(t *testing.T) {
				q := qemuImg{path: fakeQemuImg(t, tt.body), prlimit: limiter}
				_, err := q.info(context.Background(), FormatRaw, "/images/id/.disk-1.tmp")
				checkErr(t, err, tt.want, tt.kind, tt.msg)
			})
		}
	}
	t.Run("not installed", func(t *testing.T) {
		for _, limiter := range []string{"", prlimit} {
			_, err := qemuImg{path: "/nonexistent/qemu-img", prlimit: limiter}.info(context.Background(), FormatRaw, "/x")
			checkErr(t, err, nil, fault.Internal, "/nonexistent/qemu-img")
		}
	})
	t.Run("context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := qemuImg{path: fakeQemuImg(t, "sleep 10")}.info(ctx, FormatRaw, "/x")
		checkErr(t, err, context.Canceled, fault.Internal)
	})
}
