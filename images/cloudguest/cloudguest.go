// Package cloudguest owns building and locating cloudlet's cloud-init guest: a Debian 12 root file system
// made by debootstrap from Debian packages, with real cloud-init, openssh-server and qemu-guest-agent, booted
// directly from its own kernel and initrd. A unit in it prints one report line on the serial console after
// cloud-final (see report.sh and ParseReport), so tests see what cloud-init applied.
//
// build.sh, report.sh and report.service are the guest; this package embeds them so Ensure works from any
// test package. It must not import anything from the project.
package cloudguest

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

//go:embed build.sh report.sh report.service
var scripts embed.FS

var scriptNames = []string{"build.sh", "report.sh", "report.service"}

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
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Paths{}, fmt.Errorf("cloudguest: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Paths{}, fmt.Errorf("cloudguest: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return Paths{}, err
	}
	defer unlock()
	keyDir, err := runBuild(ctx, dir)
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

// DefaultDir returns <repo root>/.cache/cloudguest, finding the repo root by walking up from the working
// directory to go.mod.
func DefaultDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("cloudguest: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, ".cache", "cloudguest"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("cloudguest: no go.mod in %s or above", wd)
		}
	}
}

// lockFile takes an exclusive flock on path, polling so that ctx can end the wait.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cloudguest: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("cloudguest: flock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("cloudguest: wait for lock %s: %w", path, context.Cause(ctx))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// runBuild writes the embedded scripts to a temporary directory, runs build.sh dir and returns the build
// directory it prints last.
func runBuild(ctx context.Context, dir string) (string, error) {
	src, err := writeScripts()
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(src, "build.sh"), dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Its own process group, so that cancelling also stops debootstrap and friends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("cloudguest: build.sh %s: %w\n%s", dir, err, tail(stderr.String(), 4000))
	}
	lines := strings.Fields(stdout.String())
	if len(lines) == 0 {
		return "", fmt.Errorf("cloudguest: build.sh %s printed no build directory", dir)
	}
	return lines[len(lines)-1], nil
}

func writeScripts() (string, error) {
	dir, err := os.MkdirTemp("", "cloudguest-src-")
	if err != nil {
		return "", fmt.Errorf("cloudguest: %w", err)
	}
	for _, name := range scriptNames {
		data, err := scripts.ReadFile(name)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o755)
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("cloudguest: write %s: %w", name, err)
		}
	}
	return dir, nil
}

// tail returns the last n bytes of s, where a failed build explains itself.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
