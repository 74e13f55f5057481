// Package testguest owns building and locating cloudlet's test guest: a tiny Linux guest made from Debian
// packages (kernel + busybox initramfs, and the same behind SeaBIOS on a small qcow2 disk) that reads a
// NoCloud seed and prints fixed markers on its serial console, for end-to-end tests that boot real QEMU.
//
// build.sh, init.sh and iops.c are the guest; this package embeds them so Ensure works from any test package.
// It imports nothing from the project but images/guestbuild, which runs the build.
package testguest

import (
	"context"
	"embed"
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/images/guestbuild"
)

//go:embed build.sh init.sh iops.c
var scripts embed.FS

// Paths locates one complete build of the test guest.
type Paths struct {
	Dir    string // the content-addressed build directory, OUTDIR/<key>; never changed once built
	Kernel string // Dir/vmlinuz
	Initrd string // Dir/initrd.img
	Disk   string // Dir/disk.qcow2, bootable by SeaBIOS; attach it with snapshot=on or an overlay
	ISO    string // Dir/testguest.iso: the same on an El Torito CD (isolinux), for installs from an ISO
}

// Ensure builds the guest (running build.sh) into dir unless it is already there, and returns the paths.
// Concurrent callers, also in other processes, serialise on a lock file in dir, so only one builds.
// The first build downloads about 30 MB of .debs and, as root, installs missing build tools with apt-get.
func Ensure(ctx context.Context, dir string) (Paths, error) {
	keyDir, err := guestbuild.Run(ctx, guestbuild.Script{Guest: "testguest", FS: scripts, Main: "build.sh",
		Files: []string{"init.sh", "iops.c"}}, dir)
	if err != nil {
		return Paths{}, err
	}
	p := Paths{
		Dir:    keyDir,
		Kernel: filepath.Join(keyDir, "vmlinuz"),
		Initrd: filepath.Join(keyDir, "initrd.img"),
		Disk:   filepath.Join(keyDir, "disk.qcow2"),
		ISO:    filepath.Join(keyDir, "testguest.iso"),
	}
	for _, f := range []string{p.Kernel, p.Initrd, p.Disk, p.ISO} {
		if _, err := os.Stat(f); err != nil {
			return Paths{}, fmt.Errorf("testguest: build.sh %s finished without its output: %w", dir, err)
		}
	}
	return p, nil
}

// DefaultDir returns <repo root>/.cache/testguest.
func DefaultDir() (string, error) { return guestbuild.DefaultDir("testguest") }
