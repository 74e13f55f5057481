// Package testguest owns building and locating cloudlet's test guest: a tiny Linux guest made from Debian
// packages (kernel + busybox initramfs, and the same behind SeaBIOS on a small qcow2 disk) that reads a
// NoCloud seed and prints fixed markers on its serial console, for end-to-end tests that boot real QEMU.
//
// build.sh, init.sh and iops.c are the guest; this package embeds them so Ensure works from any test package.
// It must not import anything from the project.
package testguest

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

//go:embed build.sh init.sh iops.c
var scripts embed.FS

// Paths locates one complete build of the test guest.
type Paths struct {
	Dir    string // the content-addressed build directory, OUTDIR/<key>; never changed once built
	Kernel string // Dir/vmlinuz
	Initrd string // Dir/initrd.img
	Disk   string // Dir/disk.qcow2, bootable by SeaBIOS; attach it with snapshot=on or an overlay
}

// Ensure builds the guest (running build.sh) into dir unless it is already there, and returns the paths.
// Concurrent callers, also in other processes, serialise on a lock file in dir, so only one builds.
// The first build downloads about 30 MB of .debs and, as root, installs missing build tools with apt-get.
func Ensure(ctx context.Context, dir string) (Paths, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Paths{}, fmt.Errorf("testguest: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Paths{}, fmt.Errorf("testguest: %w", err)
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
	p := Paths{
		Dir:    keyDir,
		Kernel: filepath.Join(keyDir, "vmlinuz"),
		Initrd: filepath.Join(keyDir, "initrd.img"),
		Disk:   filepath.Join(keyDir, "disk.qcow2"),
	}
	for _, f := range []string{p.Kernel, p.Initrd, p.Disk} {
		if _, err := os.Stat(f); err != nil {
			return Paths{}, fmt.Errorf("testguest: build.sh %s finished without its output: %w", dir, err)
		}
	}
	return p, nil
}

// DefaultDir returns <repo root>/.cache/testguest, finding the repo root by walking up from the working
// directory to go.mod.
func DefaultDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testguest: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, ".cache", "testguest"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("testguest: no go.mod in %s or above", wd)
		}
	}
}

// lockFile takes an exclusive flock on path, polling so that ctx can end the wait.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testguest: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("testguest: flock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("testguest: wait for lock %s: %w", path, context.Cause(ctx))
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
	// Its own process group, so that cancelling also stops apt-get and friends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("testguest: build.sh %s: %w\n%s", dir, err, tail(stderr.String(), 4000))
	}
	lines := strings.Fields(stdout.String())
	if len(lines) == 0 {
		return "", fmt.Errorf("testguest: build.sh %s printed no build directory", dir)
	}
	return lines[len(lines)-1], nil
}

func writeScripts() (string, error) {
	dir, err := os.MkdirTemp("", "testguest-src-")
	if err != nil {
		return "", fmt.Errorf("testguest: %w", err)
	}
	for _, name := range []string{"build.sh", "init.sh", "iops.c"} {
		data, err := scripts.ReadFile(name)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o755)
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("testguest: write %s: %w", name, err)
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
