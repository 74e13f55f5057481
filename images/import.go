package images

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"

	"cloudlet/store"
)

// ImportFile imports an image from files on the host (an admin operation: the request names host
// paths). The sources are checked before anything is written; then the record is created queued,
// the files are copied and hashed (saving), the disk copy is inspected in Go and only then by
// qemu-img, and the files are renamed into place (active). On any failure the record is marked
// killed and removed with its directory, so nothing is left behind.
func (s *Service) ImportFile(ctx context.Context, r ImportFileRequest) (*Image, error) {
	r.normalize()
	if err := r.validate(); err != nil {
		return nil, err
	}
	srcs, err := s.openSources(r)
	if err != nil {
		return nil, fmt.Errorf("import image %s: %w", r.Name, err)
	}
	defer closeSources(srcs)
	disk := srcs[0]
	if err := inspect(disk.f, disk.size, r.DiskFormat, s.maxVirtual); err != nil {
		return nil, fmt.Errorf("import image %s from %s: %w", r.Name, r.Path, err)
	}
	img := newRecord(r)
	if err := s.db.Update(func(tx *store.Tx) error { return imageRecords.Create(tx, img) }); err != nil {
		return nil, err
	}
	if err := s.fill(ctx, img, srcs); err != nil {
		return nil, s.abort(img, fmt.Errorf("import image %s from %s: %w", r.Name, r.Path, err))
	}
	return img, nil
}

// newRecord is the queued record of an import request.
func newRecord(r ImportFileRequest) *Image {
	return &Image{
		Meta:            store.Meta{Name: r.Name, ProjectID: r.ProjectID},
		Status:          StatusQueued,
		DiskFormat:      r.DiskFormat,
		ContainerFormat: ContainerBare,
		MinDiskGiB:      r.MinDiskGiB,
		MinRAMMiB:       r.MinRAMMiB,
		Visibility:      r.Visibility,
		Protected:       r.Protected,
		Firmware:        r.Firmware,
		HasKernel:       r.KernelPath != "",
		HasInitrd:       r.InitrdPath != "",
		Cmdline:         r.Cmdline,
		Properties:      maps.Clone(r.Properties),
	}
}

// openSources opens the disk, then the kernel and initrd when given: the disk is always first.
func (s *Service) openSources(r ImportFileRequest) ([]*source, error) {
	wanted := []struct {
		what, path string
		limit      int64
	}{
		{fileDisk, r.Path, s.diskFileCap(r.DiskFormat)},
		{fileKernel, r.KernelPath, MaxKernelSize},
		{fileInitrd, r.InitrdPath, MaxInitrdSize},
	}
	var srcs []*source
	for _, w := range wanted {
		if w.path == "" {
			continue
		}
		src, err := openSource(w.what, w.path, w.limit)
		if err != nil {
			closeSources(srcs)
			return nil, err
		}
		srcs = append(srcs, src)
	}
	return srcs, nil
}

// diskFileCap bounds the size of a disk file: a raw file is its virtual size; a qcow2 file may
// exceed its virtual size by a quarter for metadata and internal snapshots.
func (s *Service) diskFileCap(format string) int64 {
	if format == FormatQcow2 {
		return s.maxVirtual + s.maxVirtual/4
	}
	return s.maxVirtual
}

func closeSources(srcs []*source) {
	for _, src := range srcs {
		src.Close()
	}
}

// fill copies the sources into the image's directory, checks the disk and activates the record.
func (s *Service) fill(ctx context.Context, img *Image, srcs []*source) error {
	if err := s.setStatus(img, StatusSaving); err != nil {
		return err
	}
	dir, err := makeImageDir(s.dir, img.ID)
	if err != nil {
		return err
	}
	files := make([]*staged, 0, len(srcs))
	for _, src := range srcs {
		f, err := stage(ctx, src, dir)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	disk := files[0]
	virtual, err := s.checkDisk(ctx, disk, img.DiskFormat)
	if err != nil {
		return err
	}
	if err := install(dir, files); err != nil {
		return err
	}
	if err := s.share(dir); err != nil {
		return err
	}
	img.Size, img.Checksum, img.VirtualSize = disk.size, disk.sha256, virtual
	return s.setStatus(img, StatusActive)
}

// checkDisk inspects the copied disk: its header in Go, then, only if that passed, with qemu-img.
// The copy is checked, not the source, because only the copy cannot change any more.
func (s *Service) checkDisk(ctx context.Context, disk *staged, format string) (int64, error) {
	f, err := os.Open(disk.tmp)
	if err != nil {
		return 0, fmt.Errorf("open copied disk: %w", err)
	}
	defer f.Close()
	if err := inspect(f, disk.size, format, s.maxVirtual); err != nil {
		return 0, err
	}
	info, err := s.qemuImg.info(ctx, format, disk.tmp)
	if err != nil {
		return 0, err
	}
	if err := checkVirtualSize(*info.VirtualSize, s.maxVirtual); err != nil {
		return 0, err
	}
	return *info.VirtualSize, nil
}

// setStatus moves img to status in the catalog.
func (s *Service) setStatus(img *Image, status string) error {
	prev := img.Status
	img.Status = status
	err := s.db.Update(func(tx *store.Tx) error { return imageRecords.Update(tx, img) })
	if err != nil {
		img.Status = prev
		return fmt.Errorf("set image %s (%s) %s: %w", img.Name, img.ID, status, err)
	}
	return nil
}

// abort undoes a failed import: the record is marked killed (so a crash from here on leaves a
// record that says what happened), then the directory and the record are removed. It returns
// cause, joined with any failure of the cleanup.
func (s *Service) abort(img *Image, cause error) error {
	kill := s.setStatus(img, StatusKilled)
	if err := s.purge(img.ID); err != nil {
		return errors.Join(cause, kill, err)
	}
	return cause
}
