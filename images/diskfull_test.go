package images

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"cloudlet/appliance/fault"
)

// withTinyFS mounts a tmpfs of size bytes on the image dir (root only, as the daemon runs), so
// that an import runs out of space for real.
func withTinyFS(t *testing.T, size string) func(*Options) {
	return func(o *Options) {
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", o.Dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
			t.Fatalf("mount a tmpfs on %s (the disk-full tests need root): %v", o.Dir, err)
		}
		t.Cleanup(func() {
			if err := syscall.Unmount(o.Dir, 0); err != nil {
				t.Errorf("unmount %s: %v", o.Dir, err)
			}
		})
	}
}

// Disk full in the middle of an import, on a real (tiny) filesystem: the upload, the conversion
// and the file import each end with ErrNoSpace, no file left, the catalog consistent, and the
// service still works once there is room.
func TestDiskFullDuringImport(t *testing.T) {
	t.Run("upload", func(t *testing.T) {
		e := newEnv(t, withTinyFS(t, "2m"))
		_, err := e.upload("big", FormatRaw, bytes.NewReader(make([]byte, 4<<20)))
		checkErr(t, err, ErrNoSpace, fault.NoCapacity, "no space left")
		e.assertKilledClean("big", "no space left")
		if _, err := e.upload("small", FormatRaw, bytes.NewReader(make([]byte, 64<<10))); err != nil {
			t.Errorf("upload after the failure: %v", err)
		}
	})
	t.Run("conversion", func(t *testing.T) {
		e := newEnv(t, withTinyFS(t, "3m"))
		// 2 MiB of random data: the VMDK fits, its qcow2 copy beside it does not.
		random := make([]byte, 2<<20)
		rand.Read(random)
		src := e.convertFile(e.write("d.raw", random), FormatRaw, "d.vmdk", FormatVMDK, "-o", "subformat=streamOptimized")
		_, err := e.upload("big", FormatVMDK, bytes.NewReader(e.read(src)))
		checkErr(t, err, ErrNoSpace, fault.NoCapacity, "qemu-img convert -f vmdk: no space left")
		e.assertKilledClean("big", "no space left")
	})
	t.Run("file import", func(t *testing.T) {
		e := newEnv(t, withTinyFS(t, "1m"))
		src := e.write("disk.raw", make([]byte, 3<<20))
		_, err := e.svc.ImportFile(context.Background(), e.request("big", src, FormatRaw))
		checkErr(t, err, ErrNoSpace, fault.NoCapacity, "no space left")
		e.assertNothingLeft()
		if ents, _ := os.ReadDir(filepath.Join(e.dir)); len(ents) != 0 {
			t.Errorf("image dir has %v", ents)
		}
	})
}
