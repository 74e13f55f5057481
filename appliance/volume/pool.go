package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"cloudlet/store"
)

// Pool is a directory that holds volumes (global, admin-managed). Its qcow2 options apply to the
// volumes made in it afterwards.
type Pool struct {
	store.Meta
	Path          string `json:"path"`          // absolute directory
	ClusterSize   int64  `json:"cluster_size"`  // qcow2 cluster size in bytes: a power of two, 512 B to 2 MiB
	Preallocation string `json:"preallocation"` // PreallocOff, PreallocMetadata or PreallocFull
	Default       bool   `json:"default"`       // used when a volume names no pool; at most one pool has it
}

// Preallocation modes (qemu-img's preallocation option). They apply to standalone files (empty
// volumes and full copies); overlays are always sparse, as qcow2 allows no preallocation with a
// backing file.
const (
	PreallocOff      = "off"
	PreallocMetadata = "metadata"
	PreallocFull     = "full"
)

// DefaultClusterSize is qcow2's own default.
const DefaultClusterSize = 64 << 10

// DefaultPoolName is the pool EnsureDefaultPool creates.
const DefaultPoolName = "default"

var pools = store.NewKind[Pool](store.BucketPools, store.ScopeGlobal)

// validate checks a pool and fills in its defaults.
func (p *Pool) validate() error {
	if err := store.ValidateName(p.Name); err != nil {
		return faultf(ErrInvalid, "pool name: %v", err)
	}
	if err := checkPoolPath(p.Path); err != nil {
		return err
	}
	if p.ClusterSize == 0 {
		p.ClusterSize = DefaultClusterSize
	}
	if p.ClusterSize < 512 || p.ClusterSize > 2<<20 || p.ClusterSize&(p.ClusterSize-1) != 0 {
		return faultf(ErrInvalid, "pool %s: cluster_size must be a power of two between 512 and 2097152, not %d", p.Name, p.ClusterSize)
	}
	switch p.Preallocation {
	case "":
		p.Preallocation = PreallocOff
	case PreallocOff, PreallocMetadata, PreallocFull:
	default:
		return faultf(ErrInvalid, "pool %s: preallocation must be off, metadata or full, not %s", p.Name, quoteShort(p.Preallocation))
	}
	return nil
}

// checkPoolPath accepts absolute, clean paths without characters that QEMU option strings or
// protocol prefixes would read specially.
func checkPoolPath(path string) error {
	switch {
	case !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/":
		return faultf(ErrInvalid, "pool path %s must be an absolute, clean path below /", quoteShort(path))
	case strings.ContainsAny(path, ",:\x00\n\r"):
		return faultf(ErrInvalid, "pool path %s must not contain commas, colons or control characters", quoteShort(path))
	}
	return nil
}

// CreatePool adds a pool (admin). Its directory must exist or be creatable (a new one is made
// 0711: QEMU's user needs to traverse it, nobody needs to list it). Two pools cannot share a
// directory or nest. The first pool, or one created with Default, becomes the default pool.
func (s *Service) CreatePool(_ context.Context, p Pool) (*Pool, error) {
	p.Meta = store.Meta{ID: store.NewID(), Name: p.Name}
	if err := p.validate(); err != nil {
		return nil, err
	}
	made, err := makePoolDir(p.Path)
	if err != nil {
		return nil, err
	}
	err = s.db.Update(func(tx *store.Tx) error { return s.insertPool(tx, &p) })
	if err != nil {
		if made {
			os.Remove(p.Path)
		}
		return nil, fmt.Errorf("create pool %s: %w", p.Name, err)
	}
	return &p, nil
}

// EnsureDefaultPool creates pool "default" at path on first start: when the catalog has no pool
// at all. It returns the default pool (nil if an admin left none marked default).
func (s *Service) EnsureDefaultPool(ctx context.Context, path string) (*Pool, error) {
	var n int
	if err := s.db.View(func(tx *store.Tx) (err error) { n, err = pools.Count(tx, ""); return err }); err != nil {
		return nil, fmt.Errorf("ensure default pool: %w", err)
	}
	if n == 0 {
		if _, err := s.CreatePool(ctx, Pool{Meta: store.Meta{Name: DefaultPoolName}, Path: path, Default: true}); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	var def *Pool
	err := s.db.View(func(tx *store.Tx) (err error) { def, err = defaultPool(tx); return err })
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return def, err
}

// insertPool stores a validated pool, refusing shared or nested directories, and moves the default
// flag to it when asked (or when there is no default yet).
func (s *Service) insertPool(tx *store.Tx, p *Pool) error {
	all, err := pools.List(tx, "")
	if err != nil {
		return err
	}
	hasDefault := false
	for _, o := range all {
		if within(p.Path, o.Path) || within(o.Path, p.Path) {
			return faultf(ErrConflict, "pool %s: directory %s overlaps pool %s at %s", p.Name, p.Path, o.Name, o.Path)
		}
		hasDefault = hasDefault || o.Default
	}
	p.Default = p.Default || !hasDefault
	if err := pools.Create(tx, p); err != nil {
		return err
	}
	if err := appendEvent(tx, "pool.created", "pool", p.ID, "", map[string]any{"name": p.Name, "path": p.Path}); err != nil {
		return err
	}
	if p.Default {
		return makeDefault(tx, p.ID, all)
	}
	return nil
}

// makeDefault clears the default flag of every pool in others but id.
func makeDefault(tx *store.Tx, id string, others []*Pool) error {
	for _, o := range others {
		if o.ID == id || !o.Default {
			continue
		}
		o.Default = false
		if err := pools.Update(tx, o); err != nil {
			return err
		}
		if err := appendEvent(tx, "pool.updated", "pool", o.ID, "", map[string]any{"default": false}); err != nil {
			return err
		}
	}
	return nil
}

// SetDefaultPool makes a pool the one volumes go to when they name none (admin).
func (s *Service) SetDefaultPool(_ context.Context, idOrName string) (*Pool, error) {
	var p *Pool
	err := s.db.Update(func(tx *store.Tx) error {
		var err error
		if p, err = pools.Lookup(tx, "", idOrName); err != nil {
			return err
		}
		all, err := pools.List(tx, "")
		if err != nil {
			return err
		}
		if p.Default {
			return nil
		}
		p.Default = true
		if err := pools.Update(tx, p); err != nil {
			return err
		}
		if err := appendEvent(tx, "pool.updated", "pool", p.ID, "", map[string]any{"default": true}); err != nil {
			return err
		}
		return makeDefault(tx, p.ID, all)
	})
	if err != nil {
		return nil, fmt.Errorf("set default pool %s: %w", idOrName, err)
	}
	return p, nil
}

// DeletePool removes an empty pool's record (admin). Its directory stays: it may be a mount point
// the admin made, and it is empty of volumes anyway.
func (s *Service) DeletePool(_ context.Context, idOrName string) error {
	err := s.db.Update(func(tx *store.Tx) error {
		p, err := pools.Lookup(tx, "", idOrName)
		if err != nil {
			return err
		}
		err = volumes.ForEach(tx, func(v *Volume) error {
			if v.PoolID == p.ID {
				return faultf(ErrConflict, "pool %s holds volume %s (%s) of project %s", p.Name, v.Name, v.ID, v.ProjectID)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := pools.Delete(tx, p.ID); err != nil {
			return err
		}
		return appendEvent(tx, "pool.deleted", "pool", p.ID, "", map[string]any{"name": p.Name})
	})
	if err != nil {
		return fmt.Errorf("delete pool %s: %w", idOrName, err)
	}
	return nil
}

// defaultPool returns the pool marked default.
func defaultPool(tx *store.Tx) (*Pool, error) {
	all, err := pools.List(tx, "")
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		if p.Default {
			return p, nil
		}
	}
	return nil, faultf(ErrNotFound, "no default pool: name a pool")
}

// makePoolDir makes sure path is a directory, creating it (0711) when missing; made says whether
// it did.
func makePoolDir(path string) (made bool, err error) {
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.IsDir():
		return false, faultf(ErrInvalid, "pool path %s is not a directory", path)
	case err == nil:
		return false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("stat pool path %s: %w", path, err)
	}
	if err := os.MkdirAll(path, 0o711); err != nil {
		return false, faultf(ErrInvalid, "pool path %s cannot be created: %v", path, err)
	}
	if err := os.Chmod(path, 0o711); err != nil {
		return true, fmt.Errorf("chmod pool path %s: %w", path, err)
	}
	return true, nil
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}
