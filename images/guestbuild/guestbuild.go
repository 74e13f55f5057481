// Package guestbuild runs a guest's build script (embedded in the guest's package, so any test package
// can build it) into a cache directory: one build per directory at a time, also across processes, and
// the build's own directory is the last line the script prints. images/testguest and images/cloudguest
// use it. It must not import anything from the project.
package guestbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Script is a guest's build: Main (e.g. "build.sh", run with bash and the output directory) and the
// other Files it reads next to itself, all read from FS.
type Script struct {
	Guest string // the guest's name, in errors and temp dir names: "testguest"
	FS    fs.FS
	Main  string
	Files []string
}

// Run builds into dir (made if missing) unless the script finds the build already there, and returns
// the build's directory. Concurrent callers serialise on dir/.lock.
func Run(ctx context.Context, s Script, dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.Guest, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%s: %w", s.Guest, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.Guest, err)
	}
	defer unlock()
	return s.run(ctx, dir)
}

// DefaultDir returns <repo root>/.cache/<guest>, finding the repo root by walking up from the working
// directory to go.mod.
func DefaultDir(guest string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%s: %w", guest, err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, ".cache", guest), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s: no go.mod in %s or above", guest, wd)
		}
	}
}

// lockFile takes an exclusive flock on path, polling so that ctx can end the wait.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, context.Cause(ctx))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// run writes the script's files to a temporary directory, runs Main with dir and returns the directory
// it prints last.
func (s Script) run(ctx context.Context, dir string) (string, error) {
	src, err := s.write()
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(src, s.Main), dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Its own process group, so that cancelling also stops apt-get, debootstrap and friends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %s %s: %w\n%s", s.Guest, s.Main, dir, err, tail(stderr.String(), 4000))
	}
	lines := strings.Fields(stdout.String())
	if len(lines) == 0 {
		return "", fmt.Errorf("%s: %s %s printed no build directory", s.Guest, s.Main, dir)
	}
	return lines[len(lines)-1], nil
}

func (s Script) write() (string, error) {
	dir, err := os.MkdirTemp("", s.Guest+"-src-")
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.Guest, err)
	}
	for _, name := range append([]string{s.Main}, s.Files...) {
		data, err := fs.ReadFile(s.FS, name)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o755)
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("%s: write %s: %w", s.Guest, name, err)
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
