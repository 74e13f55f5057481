package compute

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// prepareState creates the instance's state dir (console log, saved state, UEFI variables) and, for
// UEFI, its own copy of the firmware variables.
func (s *Service) prepareState(inst *Instance) error {
	if err := os.MkdirAll(s.stateDir(inst.ID), 0o700); err != nil {
		return fmt.Errorf("create state dir of instance %s: %w", inst.ID, err)
	}
	if inst.Boot.Firmware != "uefi" {
		return nil
	}
	if _, err := os.Stat(ovmfCode); err != nil {
		return fmt.Errorf("the image asks for UEFI but the firmware is not installed (apt-get install ovmf): %w", err)
	}
	if _, err := os.Stat(s.nvramPath(inst.ID)); err == nil {
		return nil
	}
	if err := copyFile(ovmfVars, s.nvramPath(inst.ID)); err != nil {
		return err
	}
	return s.giveToQEMU(s.nvramPath(inst.ID))
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

// makeBootVolume creates the instance's boot volume from its image (an overlay, sized to the flavor's
// disk; blank, of that size, for an ISO install) and records it attached as the boot volume, deleted
// with the instance.
func (s *Service) makeBootVolume(ctx context.Context, inst *Instance) (string, error) {
	image := inst.ImageID
	if inst.BlankBoot {
		image = ""
	}
	vol, err := s.o.Volumes.CreateBoot(ctx, BootVolumeRequest{ProjectID: inst.ProjectID, InstanceID: inst.ID,
		Name: "root-" + inst.ID[:8], Image: image, SizeGiB: inst.Flavor.DiskGiB})
	if err != nil {
		return "", fmt.Errorf("create boot volume of instance %s: %w", inst.Name, err)
	}
	if err := s.o.Volumes.Attached(ctx, vol.ID, "", true, true); err != nil {
		s.o.Volumes.Delete(context.WithoutCancel(ctx), inst.ProjectID, vol.ID)
		return "", fmt.Errorf("attach boot volume of instance %s: %w", inst.Name, err)
	}
	return vol.ID, nil
}

// copyFile copies src to dst through dst.tmp, so a daemon killed mid-copy leaves a *.tmp that
// reattach removes, never a truncated dst that a later start would take as complete.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}

func (s *Service) nvramPath(id string) string { return filepath.Join(s.stateDir(id), "nvram.fd") }
