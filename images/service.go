package images

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"cloudlet/store"
)

// DefaultMaxVirtualSize is the host cap on an image's virtual size unless Options say otherwise.
const DefaultMaxVirtualSize = 2 << 40 // 2 TiB

// DefaultMaxUploadBytes caps the bytes of one upload or URL import unless Options say otherwise.
const DefaultMaxUploadBytes = 64 << 30 // 64 GiB

// Options configure the service.
type Options struct {
	// Dir holds one directory per image; created 0700 when missing. Required.
	Dir string
	// Import says where imported bytes may come from, and how slowly (see ImportOptions).
	Import ImportOptions
	// QemuImg is the qemu-img binary; "" means "qemu-img" on the PATH.
	QemuImg string
	// MaxVirtualSize caps the virtual size of any image, in bytes; 0 means DefaultMaxVirtualSize.
	MaxVirtualSize int64
	// MaxUploadBytes caps the bytes of one upload or URL import; 0 means DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// ReaderGID, when > 0, is the group of the unprivileged user QEMU runs as: image files become
	// readable by that group (and nobody else) so QEMU can open them without root.
	ReaderGID int
	// AllowPrivateURLs lets URL imports connect to private addresses (RFC 1918, unique local,
	// shared address space), e.g. a NAS on the LAN. Loopback, link-local, multicast and
	// unspecified addresses are refused whatever this says.
	AllowPrivateURLs bool
	// Logger receives what background URL imports cannot return: their failures. nil discards.
	Logger *slog.Logger
	// Quota checks the projects' image limits (images and image_gigabytes); nil means no quotas.
	Quota Quota
	// ResolveProject turns a project's ID or name into its ID (an unknown one: an error of kind
	// not_found), for image members. nil takes every valid reference as an ID.
	ResolveProject func(ctx context.Context, ref string) (string, error)
	// Now is the service's clock; nil means time.Now. Records are stamped by the catalog's own
	// clock; this one paces progress updates and URL import deadlines.
	Now func() time.Time
}

// Service manages images: their records in the catalog and their files in Options.Dir.
// It is safe for concurrent use. Close stops the URL imports it runs in the background.
type Service struct {
	db           *store.DB
	dir          string // absolute
	imports      importRoot
	qemuImg      qemuImg
	maxVirtual   int64
	maxUpload    int64
	readerGID    int
	quota        Quota
	quotaUnit    int64 // bytes per unit of the image_gigabytes quota: a GiB; tests lower it
	reserveStep  int64 // bytes a saving image reserves at a time; tests lower it
	resolve      func(ctx context.Context, ref string) (string, error)
	log          *slog.Logger
	now          func() time.Time
	fetch        fetchConfig
	pace         paceConfig      // the minimum rate of uploads (downloads: fetch.pace)
	flights      flights         // imports receiving data, for Delete to cancel
	bg           context.Context // ends at Close; URL imports run under it
	stopBg       context.CancelFunc
	wrapWriter   func(io.Writer) io.Writer // tests only: wraps the writer of received bytes (to fail it)
	progressStep int64                     // bytes between progress updates; tests lower it

	mu     sync.Mutex // guards the fields below
	closed bool
	wg     sync.WaitGroup // one per background import; Add only under mu while !closed
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
	ISO         bool   // the disk is an ISO 9660 image (disk_format iso): an installer's CD, not a disk to boot
	CDROMBus    string // the image's hw_cdrom_bus property (Nova's): the bus of its CD-ROM drive, "" for the default
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
	imports, err := openImportRoot(o.Import.Dir)
	if err != nil {
		return nil, err
	}
	if o.MaxUploadBytes < 0 {
		return nil, fmt.Errorf("images: Options.MaxUploadBytes %d is negative", o.MaxUploadBytes)
	}
	s := &Service{
		db:           db,
		dir:          dir,
		imports:      imports,
		qemuImg:      qemuImg{path: cmp.Or(o.QemuImg, "qemu-img")},
		maxVirtual:   cmp.Or(o.MaxVirtualSize, DefaultMaxVirtualSize),
		maxUpload:    cmp.Or(o.MaxUploadBytes, DefaultMaxUploadBytes),
		readerGID:    o.ReaderGID,
		quota:        o.Quota,
		quotaUnit:    1 << 30,
		reserveStep:  reserveBytes,
		resolve:      o.ResolveProject,
		log:          o.Logger,
		now:          o.Now,
		fetch:        defaultFetchConfig(o, o.Logger),
		pace:         paceOf(o.Import),
		progressStep: progressBytes,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
		s.fetch.log = s.log
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
	s.bg, s.stopBg = context.WithCancel(context.Background())
	return s, nil
}

// Close cancels the URL imports running in the background and waits for them to end (each marks
// its image killed and removes its files). Uploads run in their callers' requests, not here.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.stopBg != nil {
		s.stopBg()
	}
	s.wg.Wait()
	return nil
}

// MaxUploadBytes is the cap on the bytes of one upload, for a web layer that checks
// Content-Length before it starts reading.
func (s *Service) MaxUploadBytes() int64 { return s.maxUpload }

// goBackground runs fn in a goroutine that Close waits for; it fails once Close has begun.
func (s *Service) goBackground(fn func(ctx context.Context)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return faultf(ErrClosed, "the image service is shutting down: no new import starts")
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn(s.bg)
	}()
	return nil
}

// Get returns an image visible to projectID, by ID or name (see find), as projectID may see it:
// another project's image shows only projectID's own membership.
func (s *Service) Get(ctx context.Context, projectID, idOrName string) (*Image, error) {
	var img *Image
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		img, err = find(tx, projectID, idOrName)
		return err
	})
	if err != nil {
		return nil, err
	}
	return img.viewFor(projectID), nil
}

// List returns the images projectID sees listed (its own, the public ones and those shared with it
// that it accepted), sorted by name, then ID.
func (s *Service) List(ctx context.Context, projectID string) ([]*Image, error) {
	return s.ListShared(ctx, projectID, MemberAccepted)
}

// ListShared is List with the shared images whose membership has status memberStatus (one of the
// Member* statuses, or "all"): pending ones, for a recipient to find what it was offered.
func (s *Service) ListShared(ctx context.Context, projectID, memberStatus string) ([]*Image, error) {
	if projectID == "" {
		return nil, faultf(ErrInvalid, "list images: a project is required")
	}
	if memberStatus != "all" {
		if err := oneOf("member status", memberStatus, memberStatuses); err != nil {
			return nil, err
		}
	}
	var out []*Image
	err := s.db.View(func(tx *store.Tx) error {
		own, err := imageRecords.List(tx, projectID)
		if err != nil {
			return err
		}
		out = own
		return imageRecords.ForEach(tx, func(img *Image) error {
			if img.ProjectID != projectID && listedFor(img, projectID, memberStatus) {
				out = append(out, img.viewFor(projectID))
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

// Delete removes one of projectID's images: its files, then its record. A protected image, another
// project's image and an image something holds in the catalog (a volume or a snapshot based on it:
// UsedBy's ErrInUse) are refused; the transaction that finds nothing holding it marks it deleted
// and seals it, so nothing can take a hold on it afterwards (see inuse.go). A queued image
// (created, never uploaded) and a killed one may be deleted; a saving one has its upload or
// download cancelled first (it cleans up its files), then goes the same way.
func (s *Service) Delete(ctx context.Context, projectID, idOrName string) error {
	img, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return err
	}
	cancelled, err := s.cancelSavingOwned(ctx, projectID, img)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *store.Tx) error {
		var err error
		if img, err = find(tx, projectID, idOrName); err != nil {
			return err
		}
		switch {
		case img.ProjectID != projectID:
			return faultf(ErrNotOwner, "image %s belongs to another project: only its owner may delete it", img.Name)
		case img.Protected:
			return faultf(ErrProtected, "image %s is protected: unprotect it before deleting it", img.Name)
		case img.Status == StatusSaving:
			return faultf(ErrNotActive, "image %s is %s: wait for the import to finish", img.Name, img.Status)
		}
		if err := sealUnused(tx, img); err != nil {
			return err
		}
		img.Status = StatusDeleted
		if err := imageRecords.Update(tx, img); err != nil {
			return err
		}
		return imageEvent(tx, "image.state", img)
	})
	if cancelled && errors.Is(err, ErrNotFound) {
		return nil // the cancelled import removed it (a file import leaves nothing)
	}
	if err != nil {
		return err
	}
	return s.purge(img.ID)
}

// BootFiles returns the files an active image boots from, after checking they are still there.
// DiskFormat is the QEMU driver to read the disk with (an ISO is raw to QEMU).
func (s *Service) BootFiles(ctx context.Context, projectID, idOrName string) (BootFiles, error) {
	img, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return BootFiles{}, err
	}
	if img.Status != StatusActive {
		return BootFiles{}, faultf(ErrNotActive, "image %s is %s, not active", img.Name, img.Status)
	}
	bf := BootFiles{
		ImageID: img.ID, Disk: s.file(img.ID, fileDisk), DiskFormat: driverFormat(img.DiskFormat),
		Cmdline: img.Cmdline, Firmware: img.Firmware, VirtualSize: img.VirtualSize,
		MinDiskGiB: img.MinDiskGiB, MinRAMMiB: img.MinRAMMiB, ISO: img.DiskFormat == FormatISO,
		CDROMBus: img.Properties[PropCDROMBus],
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

// visibleTo reports whether projectID may see and use img by its ID: its own, a public one, or one
// shared with it, whether it accepted, rejected or has not answered yet (as in Glance).
func visibleTo(img *Image, projectID string) bool {
	switch {
	case img.ProjectID == projectID || img.Visibility == VisibilityPublic:
		return true
	case img.Visibility == VisibilityShared:
		return memberOf(img, projectID) != nil
	}
	return false
}

// listedFor reports whether another project's img is in projectID's list: a public image, or one
// shared with it whose membership has memberStatus ("all": any).
func listedFor(img *Image, projectID, memberStatus string) bool {
	if img.Visibility == VisibilityPublic {
		return true
	}
	m := memberOf(img, projectID)
	return img.Visibility == VisibilityShared && m != nil && (memberStatus == "all" || m.Status == memberStatus)
}

// acceptedBy reports whether projectID accepted img, shared with it.
func acceptedBy(projectID string) func(*Image) bool {
	return func(img *Image) bool {
		m := memberOf(img, projectID)
		return img.Visibility == VisibilityShared && m != nil && m.Status == MemberAccepted
	}
}

func isPublic(img *Image) bool { return img.Visibility == VisibilityPublic }

// viewFor is img as projectID may see it: all of it for its owner; for anyone else, a copy that
// shows only projectID's own membership, never who else it is shared with.
func (img *Image) viewFor(projectID string) *Image {
	if img.ProjectID == projectID {
		return img
	}
	v := *img
	v.Members = nil
	if m := memberOf(img, projectID); m != nil {
		v.Members = []Member{*m}
	}
	return &v
}

// find resolves idOrName for projectID: by ID, any image it may see (see visibleTo); by name, its
// own image first, then one shared with it that it accepted, then a public one. Another project's
// image never hides the caller's own, nor a public image one shared with it; only two images of the
// same tier answer ErrAmbiguous. Anything else is "not found", in the same words whether it exists
// or not.
func find(tx *store.Tx, projectID, idOrName string) (*Image, error) {
	if projectID == "" {
		return nil, faultf(ErrInvalid, "find image: a project is required")
	}
	img, err := imageRecords.Lookup(tx, projectID, idOrName)
	if !errors.Is(err, store.ErrNotFound) {
		return img, err
	}
	if img, err := imageRecords.Get(tx, idOrName); err == nil && visibleTo(img, projectID) {
		return img, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	for _, tier := range []struct {
		what string
		in   func(*Image) bool
	}{{"shared", acceptedBy(projectID)}, {"public", isPublic}} {
		matches, err := matching(tx, idOrName, tier.in)
		if err != nil || len(matches) > 0 {
			return oneMatch(matches, idOrName, tier.what, err)
		}
	}
	return nil, faultf(ErrNotFound, "image %s not found", quoteShort(idOrName))
}

// matching returns the images named name for which in is true.
func matching(tx *store.Tx, name string, in func(*Image) bool) ([]*Image, error) {
	var out []*Image
	err := imageRecords.ForEach(tx, func(img *Image) error {
		if img.Name == name && in(img) {
			out = append(out, img)
		}
		return nil
	})
	return out, err
}

// oneMatch is the single image of matches, or the error for none or several.
func oneMatch(matches []*Image, name, what string, err error) (*Image, error) {
	switch {
	case err != nil:
		return nil, err
	case len(matches) > 1:
		return nil, faultf(ErrAmbiguous, "%d %s images are named %s: use the ID", len(matches), what, quoteShort(name))
	case len(matches) == 1:
		return matches[0], nil
	}
	return nil, faultf(ErrNotFound, "image %s not found", quoteShort(name))
}

// findOwned is find for changes only the owner may make.
func findOwned(tx *store.Tx, projectID, idOrName, action string) (*Image, error) {
	img, err := find(tx, projectID, idOrName)
	if err != nil {
		return nil, err
	}
	if img.ProjectID != projectID {
		return nil, faultf(ErrNotOwner, "image %s belongs to another project: only its owner may %s", img.Name, action)
	}
	return img, nil
}

// file is the path of one of an image's files.
func (s *Service) file(id, name string) string { return filepath.Join(s.dir, id, name) }

// purge removes an image's directory, then its record. A failure leaves the record (as killed or
// deleted) for a retry or for reconcile at the next start.
func (s *Service) purge(id string) error {
	if err := os.RemoveAll(filepath.Join(s.dir, id)); err != nil {
		return fmt.Errorf("remove files of image %s: %w", id, err)
	}
	err := s.db.Update(func(tx *store.Tx) error {
		img, err := imageRecords.Get(tx, id)
		if err != nil {
			return err
		}
		if err := imageRecords.Delete(tx, id); err != nil {
			return err
		}
		return imageEvent(tx, "image.deleted", img)
	})
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
