package compute

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// prepareDisks creates the instance's state dir and its root disk: a qcow2 overlay on the image's base
// file (O(1) whatever the image size), sized to the flavor's disk, with the base format given explicitly.
// UEFI instances also get their own copy of the firmware variables.
func (s *Service) prepareDisks(ctx context.Context, inst *Instance) error {
	if err := os.MkdirAll(s.stateDir(inst.ID), 0o700); err != nil {
		return fmt.Errorf("create state dir of instance %s: %w", inst.ID, err)
	}
	if err := s.makeOverlay(ctx, inst); err != nil {
		return err
	}
	if inst.Boot.Firmware == "uefi" {
		if _, err := os.Stat(ovmfCode); err != nil {
			return fmt.Errorf("the image asks for UEFI but the firmware is not installed (apt-get install ovmf): %w", err)
		}
		if err := copyFile(ovmfVars, s.nvramPath(inst.ID)); err != nil {
			return err
		}
		return s.giveToQEMU(s.nvramPath(inst.ID))
	}
	return nil
}

// giveToQEMU makes a file QEMU writes owned by the user QEMU runs as.
func (s *Service) giveToQEMU(path string) error {
	if c := s.o.Credential; c != nil {
		if err := os.Chown(path, int(c.Uid), int(c.Gid)); err != nil {
			return fmt.Errorf("give %s to the QEMU user: %w", path, err)
		}
	}
	return nil
}

// makeOverlay (re)creates the root disk via a temp file renamed into place.
func (s *Service) makeOverlay(ctx context.Context, inst *Instance) error {
	if _, err := os.Stat(inst.Boot.Base); err != nil {
		return fmt.Errorf("image file of instance %s: %w", inst.Name, err)
	}
	tmp := inst.Boot.RootDisk + ".tmp"
	args := []string{"create", "-q", "-f", "qcow2", "-F", inst.Boot.BaseFormat, "-b", inst.Boot.Base, tmp}
	if inst.Flavor.DiskGiB > 0 {
		args = append(args, strconv.FormatInt(int64(inst.Flavor.DiskGiB)*gib, 10))
	}
	if err := s.qemuImg(ctx, args...); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("create root disk of instance %s: %w", inst.Name, err)
	}
	if err := s.giveToQEMU(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, inst.Boot.RootDisk); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("create root disk of instance %s: %w", inst.Name, err)
	}
	return nil
}

// growDisk resizes the root disk to the flavor's size (never shrinks).
func (s *Service) growDisk(ctx context.Context, inst *Instance) error {
	if inst.Flavor.DiskGiB <= 0 {
		return nil
	}
	size := strconv.FormatInt(int64(inst.Flavor.DiskGiB)*gib, 10)
	if err := s.qemuImg(ctx, "resize", "-q", "-f", "qcow2", inst.Boot.RootDisk, size); err != nil {
		return fmt.Errorf("resize root disk of instance %s: %w", inst.Name, err)
	}
	return nil
}

// qemuImg runs qemu-img with a timeout; its stderr becomes the error.
func (s *Service) qemuImg(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.o.QEMUImg, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("qemu-img %s: %w: %s", args[0], err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}

func (s *Service) nvramPath(id string) string { return filepath.Join(s.stateDir(id), "nvram.fd") }
