package images

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"cloudlet/store"
)

// ImportFile imports an image from files on the host (an admin operation: the request names host
// files). The files must be regular files inside Options.ImportDir (see importRoot), named
// relative to it or by absolute paths inside it. The sources are checked before anything is written; then the record is created queued,
// the files are copied and hashed (saving), the disk copy is inspected in Go and only then by
// qemu-img (and converted, for vmdk, vhdx and vdi; unpacked, for an OVA), and the files are
// renamed into place (active). On any failure the record is marked killed and removed with its
// directory, so nothing is left behind.
func (s *Service) ImportFile(ctx context.Context, r ImportFileRequest) (*Image, error) {
	return s.importFrom(ctx, s.imports, r)
}

// ImportFileFrom is ImportFile reading from dir instead of the import directory, with the same
// checks: for a file cloudlet itself made in a directory it owns (a snapshot's export). Never
// pass a directory a request named.
func (s *Service) ImportFileFrom(ctx context.Context, dir string, r ImportFileRequest) (*Image, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("import image %s: directory %s is not absolute", r.Name, dir)
	}
	return s.importFrom(ctx, importRoot{dir: filepath.Clean(dir)}, r)
}

func (s *Service) importFrom(ctx context.Context, root importRoot, r ImportFileRequest) (*Image, error) {
	r.normalize()
	if err := r.validate(); err != nil {
		return nil, err
	}
	srcs, err := s.openSources(root, r)
	if err != nil {
		return nil, fmt.Errorf("import image %s: %w", r.Name, err)
	}
	defer closeSources(srcs)
	disk := srcs[0]
	if r.ContainerFormat == ContainerBare {
		if err := inspect(disk.f, disk.size, r.DiskFormat, s.maxVirtual); err != nil {
			return nil, fmt.Errorf("import image %s from %s: %w", r.Name, r.Path, err)
		}
	}
	img := newRecord(r)
	img.ReservedBytes = sourceBytes(srcs)
	if err := s.createRecord(img, img.ReservedBytes); err != nil {
		return nil, err
	}
	ctx, end := s.flights.start(ctx, img.ID) // Delete cancels it once it is saving
	defer end()
	if err := s.fill(ctx, img, srcs); err != nil {
		return nil, s.abort(img, fmt.Errorf("import image %s from %s: %w", r.Name, r.Path, err))
	}
	return img, nil
}

// newRecord is the queued record of an import request.
func newRecord(r ImportFileRequest) *Image {
	c := r.create()
	img := c.record(SourceFile)
	img.HasKernel, img.HasInitrd, img.Cmdline = r.KernelPath != "", r.InitrdPath != "", r.Cmdline
	return img
}

// openSources opens the disk, then the kernel and initrd when given: the disk is always first.
func (s *Service) openSources(root importRoot, r ImportFileRequest) ([]*source, error) {
	diskCap := min(s.diskFileCap(r.DiskFormat), s.maxUpload)
	if r.ContainerFormat == ContainerOVA {
		diskCap = s.maxUpload
	}
	wanted := []struct {
		what, path string
		limit      int64
	}{
		{fileDisk, r.Path, diskCap},
		{fileKernel, r.KernelPath, MaxKernelSize},
		{fileInitrd, r.InitrdPath, MaxInitrdSize},
	}
	var srcs []*source
	for _, w := range wanted {
		if w.path == "" {
			continue
		}
		src, err := openSource(root, w.what, w.path, w.limit)
		if err != nil {
			closeSources(srcs)
			return nil, err
		}
		srcs = append(srcs, src)
	}
	return srcs, nil
}

// diskFileCap bounds the size of a disk file: a raw file (or an ISO) is its virtual size; the
// other formats may exceed their virtual size by a quarter for metadata and internal snapshots.
func (s *Service) diskFileCap(format string) int64 {
	if format == FormatRaw || format == FormatISO {
		return s.maxVirtual
	}
	return s.maxVirtual + s.maxVirtual/4
}

// sourceBytes is what an import of srcs reserves of its project's image_gigabytes.
func sourceBytes(srcs []*source) int64 {
	var n int64
	for _, src := range srcs {
		n += src.size
	}
	return n
}

func closeSources(srcs []*source) {
	for _, src := range srcs {
		src.Close()
	}
}

// fill copies the sources into the image's directory and hands them to process.
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
		f, err := s.stage(ctx, src, dir)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	return s.process(ctx, img, dir, files[0], files[1:])
}

// abort undoes a failed file import: the record is marked killed (so a crash from here on leaves a
// record that says what happened), then the directory and the record are removed. It returns
// cause, joined with any failure of the cleanup.
func (s *Service) abort(img *Image, cause error) error {
	kill := s.setStatus(img, StatusKilled)
	if err := s.purge(img.ID); err != nil {
		return errors.Join(cause, kill, err)
	}
	return cause
}

// kill ends a failed upload or URL import: the image directory is removed and the record stays,
// killed, with the reason in Fault, for its owner to read and delete. It returns cause, joined with
// any failure of the cleanup.
func (s *Service) kill(img *Image, cause error) error {
	rmErr := s.removeDir(img.ID)
	stored, err := s.modify(img.ID, func(rec *Image) error {
		rec.Status, rec.Fault = StatusKilled, s.faultText(cause)
		return nil
	})
	if err == nil {
		*img = *stored
	} else if errors.Is(err, store.ErrNotFound) {
		err = nil // deleted meanwhile: nothing to record
	}
	if err != nil || rmErr != nil {
		return errors.Join(cause, rmErr, err)
	}
	return cause
}
