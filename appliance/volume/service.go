package volume

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"syscall"
	"time"

	"cloudlet/store"
)

// Defaults of Options.
const (
	DefaultMaxChain    = 8 // backing files under a volume's active file
	DefaultTimeout     = time.Minute
	DefaultCopyTimeout = time.Hour
)

// Options configure the service.
type Options struct {
	DB  *store.DB    // required
	Log *slog.Logger // required
	// Images resolves an image reference of a project to its disk file; nil means volumes cannot
	// be made from images (ErrUnavailable).
	Images ImageSource
	// QemuImg is the qemu-img binary; "" means "qemu-img" on the PATH.
	QemuImg string
	// Owner, when set, is the unprivileged user QEMU runs as: volume files and directories are
	// chowned to it so QEMU can open them read-write.
	Owner *syscall.Credential
	// Quota checks the projects' limits (volumes, snapshots, gigabytes); nil means no quotas.
	Quota Quota
	// Now is the clock for transfer times; nil means time.Now. Records are stamped by the catalog.
	Now func() time.Time
	// MaxChain bounds the backing files under a volume's active file; 0 means DefaultMaxChain.
	MaxChain int
	// Timeout bounds quick qemu-img calls (create, resize, info); CopyTimeout bounds copies and
	// rebases. 0 means the defaults.
	Timeout, CopyTimeout time.Duration
}

// ImageSource resolves an image reference (ID or name) visible to a project to its disk file.
type ImageSource func(ctx context.Context, projectID, ref string) (ImageFile, error)

// ImageFile is what the service needs of an image: its ID, the absolute path of its disk, the
// disk's format (raw, qcow2 or iso) and its virtual size in bytes.
type ImageFile struct {
	ID, Path, Format string
	VirtualSize      int64
}

// Service manages pools, volumes and snapshots: their records in the catalog and their files in
// the pools. It is safe for concurrent use; operations on one volume are serialised through the
// volume's task (see doc.go), never by locks held in memory.
type Service struct {
	db       *store.DB
	log      *slog.Logger
	images   ImageSource
	quota    Quota
	img      qemuImg
	owner    *syscall.Credential
	now      func() time.Time
	maxChain int
}

// New returns the service. It first finishes or rolls back what a daemon killed in the middle of
// an operation left behind (see reconcile), so call it once per daemon, before the API serves.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Log == nil {
		return nil, errors.New("volume.New: DB and Log are required")
	}
	if o.MaxChain < 0 || o.Timeout < 0 || o.CopyTimeout < 0 {
		return nil, errors.New("volume.New: MaxChain, Timeout and CopyTimeout must not be negative")
	}
	path, err := exec.LookPath(cmp.Or(o.QemuImg, "qemu-img"))
	if err != nil {
		return nil, fmt.Errorf("volume.New: find qemu-img: %w", err)
	}
	s := &Service{
		db: o.DB, log: o.Log, images: o.Images, quota: o.Quota, owner: o.Owner, now: o.Now,
		img:      qemuImg{path: path, timeout: cmp.Or(o.Timeout, DefaultTimeout), copyTimeout: cmp.Or(o.CopyTimeout, DefaultCopyTimeout)},
		maxChain: cmp.Or(o.MaxChain, DefaultMaxChain),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.syncHolds(); err != nil {
		return nil, fmt.Errorf("volume: %w", err)
	}
	if err := s.reconcile(context.Background()); err != nil {
		return nil, fmt.Errorf("volume: %w", err)
	}
	return s, nil
}
