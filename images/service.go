package images

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"cloudlet/store"
)

// DefaultMaxVirtualSize is the host cap on an image's virtual size unless Options say otherwise.
const DefaultMaxVirtualSize = 2 << 40 // 2 TiB

// Options configure the service.
type Options struct {
	// Dir holds one directory per image; created 0700 when missing. Required.
	Dir string
	// QemuImg is the qemu-img binary; "" means "qemu-img" on the PATH.
	QemuImg string
	// MaxVirtualSize caps the virtual size of any image, in bytes; 0 means DefaultMaxVirtualSize.
	MaxVirtualSize int64
	// ReaderGID, when > 0, is the group of the unprivileged user QEMU runs as: image files become
	// readable by that group (and nobody else) so QEMU can open them without root.
	ReaderGID int
	// Now is the service's clock; nil means time.Now. Records are stamped by the catalog's own
	// clock; this one is for the deadlines of uploads and URL imports, which come later.
	Now func() time.Time
}

// Service manages images: their records in the catalog and their files in Options.Dir.
// It is safe for concurrent use.
type Service struct {
	db         *store.DB
	dir        string // absolute
	qemuImg    qemuImg
	maxVirtual int64
	readerGID  int
	now        func() time.Time // unused until uploads and URL imports get deadlines
}

// BootFiles is what compute needs to boot from an image: absolute paths (Kernel and Initrd empty
// when the image has none) and the format to pass explicitly to QEMU.
type BootFiles struct {
	ImageID     string
	Disk        string
	DiskFormat  string
	Kernel      string
	Initrd      string
	Cmdline     string
	Firmware    string
	VirtualSize int64
	MinDiskGiB  int
	MinRAMMiB   int
}

// New returns the image service over db, keeping files in o.Dir. It first finishes what an
// interrupted import or delete left behind (see reconcile), so call it once per daemon, before
// the API serves.
func New(db *store.DB, o Options) (*Service, error) {
	if o.Dir == "" {
		return nil, errors.New("images: Options.Dir is required")
	}
	if o.MaxVirtualSize < 0 {
		return nil, fmt.Errorf("images: Options.MaxVirtualSize %d is negative", o.MaxVirtualSize)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("images: resolve %s: %w", o.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("images: create %s: %w", dir, err)
	}
	s := &Service{
		db:         db,
		dir:        dir,
		qemuImg:    qemuImg{path: cmp.Or(o.QemuImg, "qemu-img")},
		maxVirtual: cmp.Or(o.MaxVirtualSize, DefaultMaxVirtualSize),
		readerGID:  o.ReaderGID,
		now:        o.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if p, err := exec.LookPath("prlimit"); err == nil {
		s.qemuImg.prlimit = p
	}
	if err := s.reconcile(); err != nil {
		return nil, err
	}
	if err := s.shareAll(); err != nil {
		return nil, err
	}
	return s, nil
}

// Get returns an image visible to projectID, by ID or name.
func (s *Service) Get(ctx context.Context, projectID, idOrName string) (*Image, error) {
	var img *Image
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		img, err = find(tx, projectID, idOrName)
		return err
	})
	return img, err
}

// List returns the images visible to projectID (its own and the public ones), sorted by name, then ID.
func (s *Service) List(ctx context.Context, projectID string) ([]*Image, error) {
	if projectID == "" {
		return nil, faultf(ErrInvalid, "list images: a project is required")
	}
	var out []*Image
	err := s.db.View(func(tx *store.Tx) error {
		own, err := imageRecords.List(tx, projectID)
		if err != nil {
			return err
		}
		out = own
		return imageRecords.ForEach(tx, func(img *Image) error {
			if img.ProjectID != projectID && img.Visibility == VisibilityPublic {
				out = append(out, img)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list images of project %s: %w", projectID, err)
	}
	slices.SortFunc(out, func(a, b *Image) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// Delete removes one of projectID's images: its files, then its record. A protected image, one
// that is still importing, and another project's public image are refused.
func (s *Service) Delete(ctx context.Context, projectID, idOrName string) error {
	var img *Image
	err := s.db.Update(func(tx *store.Tx) error {
		var err error
		if img, err = find(tx, projectID, idOrName); err != nil {
			return err
		}
		switch {
		case img.ProjectID != projectID:
			return faultf(ErrNotOwner, "image %s belongs to another project: only its owner may delete it", img.Name)
		case img.Protected:
			return faultf(ErrProtected, "image %s is protected: unprotect it before deleting it", img.Name)
		case img.Status == StatusQueued || img.Status == StatusSaving:
			return faultf(ErrNotActive, "image %s is %s: wait for the import to finish", img.Name, img.Status)
		}
		img.Status = StatusDeleted
		return imageRecords.Update(tx, img)
	})
	if err != nil {
		return err
	}
	return s.purge(img.ID)
}

// BootFiles returns the files an active image boots from, after checking they are still there.
func (s *Service) BootFiles(ctx context.Context, projectID, idOrName string) (BootFiles, error) {
	img, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return BootFiles{}, err
	}
	if img.Status != StatusActive {
		return BootFiles{}, faultf(ErrNotActive, "image %s is %s, not active", img.Name, img.Status)
	}
	bf := BootFiles{
		ImageID: img.ID, Disk: s.file(img.ID, fileDisk), DiskFormat: img.DiskFormat,
		Cmdline: img.Cmdline, Firmware: img.Firmware, VirtualSize: img.VirtualSize,
		MinDiskGiB: img.MinDiskGiB, MinRAMMiB: img.MinRAMMiB,
	}
	if img.HasKernel {
		bf.Kernel = s.file(img.ID, fileKernel)
	}
	if img.HasInitrd {
		bf.Initrd = s.file(img.ID, fileInitrd)
	}
	for _, p := range []string{bf.Disk, bf.Kernel, bf.Initrd} {
		if p == "" {
			continue
		}
		if err := checkRegular(p); err != nil {
			return BootFiles{}, fmt.Errorf("boot files of image %s (%s): %w", img.Name, img.ID, err)
		}
	}
	return bf, nil
}

// find resolves idOrName for projectID: its own images by ID or name first, then public images of
// other projects. Anything else is "not found", in the same words whether it exists or not.
func find(tx *store.Tx, projectID, idOrName string) (*Image, error) {
	if projectID == "" {
		return nil, faultf(ErrInvalid, "find image: a project is required")
	}
	img, err := imageRecords.Lookup(tx, projectID, idOrName)
	if !errors.Is(err, store.ErrNotFound) {
		return img, err
	}
	if img, err := imageRecords.Get(tx, idOrName); err == nil && img.Visibility == VisibilityPublic {
		return img, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var public []*Image
	err = imageRecords.ForEach(tx, func(img *Image) error {
		if img.Name == idOrName && img.Visibility == VisibilityPublic {
			public = append(public, img)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case len(public) > 1:
		return nil, faultf(ErrAmbiguous, "%d public images are named %s: use the ID", len(public), quoteShort(idOrName))
	case len(public) == 1:
		return public[0], nil
	}
	return nil, faultf(ErrNotFound, "image %s not found", quoteShort(idOrName))
}

// file is the path of one of an image's files.
func (s *Service) file(id, name string) string { return filepath.Join(s.dir, id, name) }

// purge removes an image's directory, then its record. A failure leaves the record (as killed or
// deleted) for a retry or for reconcile at the next start.
func (s *Service) purge(id string) error {
	if err := os.RemoveAll(filepath.Join(s.dir, id)); err != nil {
		return fmt.Errorf("remove files of image %s: %w", id, err)
	}
	err := s.db.Update(func(tx *store.Tx) error { return imageRecords.Delete(tx, id) })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete image record %s: %w", id, err)
	}
	return nil
}

func checkRegular(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}
