package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"cloudlet/store"
)

// disk is one disk file on its way into an image directory.
type disk struct {
	file    *staged
	format  string // the format the file is in: after prepare, the stored format
	virtual int64  // after prepare: as qemu-img info reports it
	from    string // after prepare: the format it was converted from, "" when stored as received
}

// process turns the data received for img (a disk, or an OVA) and any extra files (kernel,
// initrd) into installed files and an active record. For an OVA every further disk becomes one
// more image, NAME-disk2 and so on. On failure the caller undoes img; the extra images this made
// are removed here.
func (s *Service) process(ctx context.Context, img *Image, dir string, data *staged, extras []*staged) error {
	disks := []*disk{{file: data, format: img.DiskFormat}}
	var ovf *ovfInfo
	if img.ContainerFormat == ContainerOVA {
		var err error
		if ovf, disks, err = s.unpackOVA(ctx, dir, data); err != nil {
			return err
		}
	}
	for _, d := range disks {
		if err := s.prepare(ctx, dir, d); err != nil {
			return err
		}
	}
	more, err := s.createDiskImages(img, disks[1:], ovf)
	if err != nil {
		return err
	}
	if err := s.activate(img, dir, disks[0], extras, ovf); err != nil {
		for _, id := range more {
			s.purge(id)
		}
		return err
	}
	return nil
}

// prepare inspects a received disk in Go, then (only if that passed) with qemu-img info and, for a
// qcow2, qemu-img check, and converts the formats cloudlet does not store into qcow2, inspecting
// the result again as qcow2.
func (s *Service) prepare(ctx context.Context, dir string, d *disk) error {
	if err := s.inspectFile(d.file.tmp, d.file.size, d.format); err != nil {
		return err
	}
	virtual, err := s.checkInfo(ctx, d.format, d.file.tmp)
	if err != nil {
		return err
	}
	d.virtual = virtual
	if !converted(d.format) {
		return s.checkStored(ctx, d)
	}
	out, err := s.convert(ctx, dir, d)
	if err != nil {
		return err
	}
	if err := s.inspectFile(out.tmp, out.size, FormatQcow2); err != nil {
		os.Remove(out.tmp)
		return fmt.Errorf("inspect the converted image: %w", err)
	}
	if d.virtual, err = s.checkInfo(ctx, FormatQcow2, out.tmp); err != nil {
		os.Remove(out.tmp)
		return fmt.Errorf("inspect the converted image: %w", err)
	}
	d.file, d.from, d.format = out, d.format, FormatQcow2
	return nil
}

// inspectFile runs the Go header check on a file that cannot change any more.
func (s *Service) inspectFile(path string, size int64, format string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open received disk: %w", err)
	}
	defer f.Close()
	return inspect(f, size, format, s.maxVirtual)
}

// checkStored runs qemu-img check on a qcow2 stored as received (one cloudlet converted is
// qemu-img's own output).
func (s *Service) checkStored(ctx context.Context, d *disk) error {
	if d.format != FormatQcow2 {
		return nil
	}
	return s.qemuImg.check(ctx, d.file.tmp)
}

// checkInfo runs qemu-img info with the QEMU driver of format and checks the virtual size.
func (s *Service) checkInfo(ctx context.Context, format, path string) (int64, error) {
	info, err := s.qemuImg.info(ctx, driverFormat(format), path)
	if err != nil {
		return 0, err
	}
	if err := checkVirtualSize(*info.VirtualSize, s.maxVirtual); err != nil {
		return 0, err
	}
	return *info.VirtualSize, nil
}

// convert runs qemu-img convert from d's file into a new qcow2 file in dir, then removes the
// source and hashes the result.
func (s *Service) convert(ctx context.Context, dir string, d *disk) (*staged, error) {
	tmp, err := os.CreateTemp(dir, ".convert-*.tmp") // 0600; qemu-img truncates it and keeps the mode
	if err != nil {
		return nil, noSpace(fmt.Errorf("create conversion target in %s: %w", dir, err))
	}
	tmp.Close()
	if err := s.qemuImg.convert(ctx, d.format, d.file.tmp, tmp.Name()); err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	os.Remove(d.file.tmp)
	out, err := hashFile(tmp.Name())
	if err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	out.final = d.file.final
	return out, nil
}

// hashFile syncs a file and hashes it.
func hashFile(path string) (*staged, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return nil, noSpace(fmt.Errorf("sync %s: %w", path, err))
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, copyBufferSize))
	if err != nil {
		return nil, fmt.Errorf("hash %s: %w", path, err)
	}
	return &staged{tmp: path, size: n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// activate installs the disk and extra files of img and marks it active with what inspection
// found (and, for an OVA, what its descriptor says).
func (s *Service) activate(img *Image, dir string, d *disk, extras []*staged, ovf *ovfInfo) error {
	d.file.final = filepath.Join(dir, fileDisk)
	if err := install(dir, append([]*staged{d.file}, extras...)); err != nil {
		return err
	}
	if err := s.share(dir); err != nil {
		return err
	}
	stored, err := s.modify(img.ID, func(rec *Image) error {
		d.describe(rec, ovf)
		rec.Status = StatusActive
		return nil
	})
	if err != nil {
		return fmt.Errorf("activate image %s (%s): %w", img.Name, img.ID, err)
	}
	*img = *stored
	return nil
}

// describe writes what is known of the stored disk into rec.
func (d *disk) describe(rec *Image, ovf *ovfInfo) {
	rec.DiskFormat, rec.Size, rec.Checksum, rec.VirtualSize = d.format, d.file.size, d.file.sha256, d.virtual
	rec.Fault = ""
	if d.from == "" && ovf == nil {
		return
	}
	if rec.Properties == nil {
		rec.Properties = map[string]string{}
	}
	if d.from != "" {
		rec.Properties[PropOriginalDiskFormat] = d.from
	}
	if ovf != nil {
		rec.ContainerFormat = ContainerBare // the OVA is unpacked: what is stored is a bare disk
		rec.Properties["original_container_format"] = ContainerOVA
		rec.Properties["ovf_vcpus"] = strconv.Itoa(ovf.VCPUs)
		rec.Properties["ovf_ram_mib"] = strconv.Itoa(ovf.RAMMiB)
		rec.MinRAMMiB = max(rec.MinRAMMiB, ovf.RAMMiB)
	}
}

// createDiskImages makes one active image per further disk of an OVA, named NAME-disk2 and so on,
// with img's attributes. Each is recorded (saving) before its directory exists, so a crash leaves
// only what reconcile removes. On failure the images made so far are removed.
func (s *Service) createDiskImages(img *Image, disks []*disk, ovf *ovfInfo) (ids []string, err error) {
	defer func() {
		if err != nil {
			for _, id := range ids {
				s.purge(id)
			}
			ids = nil
		}
	}()
	for i, d := range disks {
		rec := &Image{
			Meta:   store.Meta{Name: fmt.Sprintf("%s-disk%d", img.Name, i+2), ProjectID: img.ProjectID},
			Status: StatusSaving, ContainerFormat: img.ContainerFormat, MinDiskGiB: img.MinDiskGiB, MinRAMMiB: img.MinRAMMiB,
			Visibility: img.Visibility, Members: slices.Clone(img.Members), Protected: img.Protected, Firmware: img.Firmware,
			Properties: maps.Clone(img.Properties), Tags: slices.Clone(img.Tags), Source: img.Source,
		}
		if err := s.createRecord(rec, 0); err != nil { // the OVA's own reservation holds its bytes until activate
			return ids, fmt.Errorf("create image %s for disk %d of the OVA: %w", rec.Name, i+2, err)
		}
		ids = append(ids, rec.ID)
		dir, err := makeImageDir(s.dir, rec.ID)
		if err != nil {
			return ids, err
		}
		if err := s.activate(rec, dir, d, nil, ovf); err != nil {
			return ids, err
		}
	}
	return ids, nil
}
