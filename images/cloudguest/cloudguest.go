// Package cloudguest owns building and locating cloudlet's cloud-init guest: a Debian 12 root file system
// made by debootstrap from Debian packages, with real cloud-init, openssh-server and qemu-guest-agent, booted
// directly from its own kernel and initrd. A unit in it prints one report line on the serial console after
// cloud-final (see report.sh and ParseReport), so tests see what cloud-init applied.
//
// build.sh, report.sh and report.service are the guest; this package embeds them so Ensure works from any
// test package. It imports nothing from the project but images/guestbuild, which runs the build.
package cloudguest

import (
	"context"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"cloudlet/images/guestbuild"
)

//go:embed build.sh report.sh report.service
var scripts embed.FS

// Paths locates one complete build of the cloud-init guest.
type Paths struct {
	Dir     string // the content-addressed build directory, OUTDIR/<key>; never changed once built
	Kernel  string // Dir/vmlinuz
	Initrd  string // Dir/initrd.img
	Disk    string // Dir/disk.qcow2, the ext4 root (no partition table); attach with snapshot=on or an overlay
	Cmdline string // the kernel command line that boots Disk as the root: root=LABEL=cloudroot console=ttyS0 …
}

// Ensure builds the guest (running build.sh as root) into dir unless it is already there, and returns the
// paths. Concurrent callers, also in other processes, serialise on a lock file in dir, so only one builds.
// The first build downloads about 150 MB of .debs into dir/debs and takes minutes.
func Ensure(ctx context.Context, dir string) (Paths, error) {
	keyDir, err := guestbuild.Run(ctx, guestbuild.Script{Guest: "cloudguest", FS: scripts, Main: "build.sh",
		Files: []string{"report.sh", "report.service"}}, dir)
	if err != nil {
		return Paths{}, err
	}
	return readPaths(keyDir)
}

// readPaths checks that keyDir holds a complete build and returns its paths.
func readPaths(keyDir string) (Paths, error) {
	p := Paths{
		Dir:    keyDir,
		Kernel: filepath.Join(keyDir, "vmlinuz"),
		Initrd: filepath.Join(keyDir, "initrd.img"),
		Disk:   filepath.Join(keyDir, "disk.qcow2"),
	}
	for _, f := range []string{p.Kernel, p.Initrd, p.Disk} {
		if _, err := os.Stat(f); err != nil {
			return Paths{}, fmt.Errorf("cloudguest: build finished without its output: %w", err)
		}
	}
	cmdline, err := os.ReadFile(filepath.Join(keyDir, "cmdline"))
	if err != nil {
		return Paths{}, fmt.Errorf("cloudguest: build finished without its output: %w", err)
	}
	p.Cmdline = strings.TrimSpace(string(cmdline))
	return p, nil
}

// DefaultDir returns <repo root>/.cache/cloudguest.
func DefaultDir() (string, error) { return guestbuild.DefaultDir("cloudguest") }
