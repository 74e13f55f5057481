package images

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"cloudlet/appliance/fault"
)

// hostileAsRaw makes, with the real qemu-img, one small image of each format a raw upload must
// not be (plus an ISO 9660 image), and returns their bytes by format.
func (e *env) hostileAsRaw() map[string][]byte {
	e.t.Helper()
	out := map[string][]byte{FormatISO: isoBytes()}
	for _, format := range []string{"qcow2", "vmdk", "vhdx", "vdi", "vpc"} {
		path := filepath.Join(e.t.TempDir(), "disk."+format)
		args := []string{"create", "-q", "-f", format}
		if format == "qcow2" {
			args = append(args, "-F", "raw", "-b", "/etc/passwd", "-u") // what the probe sent: a backing host file
		}
		if b, err := exec.Command("qemu-img", append(args, path, "1M")...).CombinedOutput(); err != nil {
			e.t.Fatalf("qemu-img create -f %s: %v: %s", format, err, b)
		}
		out[format] = e.read(path)
	}
	return out
}

// Finding 18: a qcow2 (or vmdk, vhdx, vdi, vpc, ISO) uploaded as raw was accepted. Now the
// declared format must be the real one, as in Glance since CVE-2024-32498: the upload ends in a
// 400-kind error, the image is killed with the reason and no file is left; qemu-img never ran.
func TestProbe18Qcow2UploadedAsRawIsRefused(t *testing.T) {
	for format, data := range newEnv(t).hostileAsRaw() {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.upload("confused", FormatRaw, bytes.NewReader(data))
			checkErr(t, err, ErrUnsafe, fault.Invalid, "declared raw", format)
			e.assertKilledClean("confused", "declared raw")
			if calls := e.qemuImgCalls(); len(calls) != 0 {
				t.Errorf("qemu-img ran on a refused file: %q", calls)
			}
		})
	}
}

// Finding 18, file imports: the same refusal before anything is recorded.
func TestProbe18Qcow2ImportedAsRawIsRefused(t *testing.T) {
	e := newEnv(t)
	src := e.write("qcow2-as-raw", e.hostileAsRaw()["qcow2"])
	_, err := e.svc.ImportFile(context.Background(), e.request("confused", src, FormatRaw))
	checkErr(t, err, ErrUnsafe, fault.Invalid, "declared raw but its content is a qcow2 image")
	e.assertNothingLeft()
}

// Finding 18, the other way round: content declared qcow2 that is not qcow2 is refused too.
func TestProbe18RawDeclaredQcow2IsRefused(t *testing.T) {
	e := newEnv(t)
	_, err := e.upload("fake", FormatQcow2, bytes.NewReader(bytes.Repeat([]byte("raw data"), 1024)))
	checkErr(t, err, ErrUnsafe, fault.Invalid, "not a qcow2 image")
	e.assertKilledClean("fake", "not a qcow2 image")
}

// Plain raw data (zeros, text, a boot sector) is still raw.
func TestRawWithoutSignatureIsAccepted(t *testing.T) {
	e := newEnv(t)
	mbr := make([]byte, 1<<20)
	mbr[510], mbr[511] = 0x55, 0xaa
	img, err := e.upload("plain", FormatRaw, bytes.NewReader(mbr))
	if err != nil || img.Status != StatusActive || img.DiskFormat != FormatRaw {
		t.Fatalf("raw upload: %+v, %v", img, err)
	}
}
