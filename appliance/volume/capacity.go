package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"cloudlet/store"
)

// PoolStats is a pool with its filesystem's capacity and what its volumes use.
type PoolStats struct {
	Pool
	CapacityBytes int64  `json:"capacity_bytes"` // size of the filesystem holding the pool
	FreeBytes     int64  `json:"free_bytes"`     // available to cloudlet (statfs f_bavail)
	UsedBytes     int64  `json:"used_bytes"`     // allocated by the pool's volume files
	Volumes       int    `json:"volumes"`
	Error         string `json:"error,omitempty"` // why the figures are missing (directory gone, ...)
}

// Pool returns one pool with its capacity and usage.
func (s *Service) Pool(_ context.Context, idOrName string) (*PoolStats, error) {
	var st *PoolStats
	err := s.db.View(func(tx *store.Tx) error {
		p, err := pools.Lookup(tx, "", idOrName)
		if err != nil {
			return err
		}
		all, err := poolStats(tx, []*Pool{p})
		st = all[0]
		return err
	})
	return st, err
}

// Pools lists the pools, sorted by name, with their capacity and usage.
func (s *Service) Pools(_ context.Context) ([]*PoolStats, error) {
	var out []*PoolStats
	err := s.db.View(func(tx *store.Tx) error {
		all, err := pools.List(tx, "")
		if err != nil {
			return err
		}
		out, err = poolStats(tx, all)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	return out, nil
}

// poolStats measures the pools: statfs of their directories and the allocated bytes of the files
// in their volumes' directories.
func poolStats(tx *store.Tx, ps []*Pool) ([]*PoolStats, error) {
	out := make([]*PoolStats, len(ps))
	byID := map[string]*PoolStats{}
	for i, p := range ps {
		out[i] = &PoolStats{Pool: *p}
		byID[p.ID] = out[i]
		total, free, err := fsSpace(p.Path)
		if err != nil {
			out[i].Error = err.Error()
		}
		out[i].CapacityBytes, out[i].FreeBytes = total, free
	}
	err := volumes.ForEach(tx, func(v *Volume) error {
		if st := byID[v.PoolID]; st != nil {
			st.Volumes++
			st.UsedBytes += dirAllocated(filepath.Dir(v.Path))
		}
		return nil
	})
	return out, err
}

// fsSpace returns the size of the filesystem holding path and the bytes available on it.
func fsSpace(path string) (total, free int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, nil
}

// allocated returns the bytes the filesystem allocated to a file (st_blocks × 512): sparse regions
// of a qcow2 or raw file cost nothing.
func allocated(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// dirAllocated sums allocated over the regular files of dir (not recursive).
func dirAllocated(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if e.Type().IsRegular() {
			n += allocated(filepath.Join(dir, e.Name()))
		}
	}
	return n
}

// spaceMargin is left free on a pool's filesystem by checkSpace: qcow2 metadata, and room for the
// catalog and logs when the pool shares their filesystem.
const spaceMargin = 256 << 20

// checkSpace fails with ErrNoCapacity when the pool's filesystem has less than need bytes free.
func checkSpace(p *Pool, need int64, what string) error {
	_, free, err := fsSpace(p.Path)
	if err != nil {
		return err
	}
	if free < need+spaceMargin {
		return faultf(ErrNoCapacity, "pool %s has %d MiB free, %s needs %d MiB", p.Name, free>>20, what, (need+spaceMargin)>>20)
	}
	return nil
}
