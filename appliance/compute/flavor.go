package compute

import (
	"context"
	"fmt"
	"maps"

	"cloudlet/store"
)

// Flavor is a size of instance (Nova's flavor). Flavors are global; instances keep a copy of theirs.
type Flavor struct {
	store.Meta
	VCPUs        int               `json:"vcpus"`
	RAMMiB       int               `json:"ram_mib"`
	DiskGiB      int               `json:"disk_gib"`
	EphemeralGiB int               `json:"ephemeral_gib"`
	SwapMiB      int               `json:"swap_mib"`
	Public       bool              `json:"public"`
	ExtraSpecs   map[string]string `json:"extra_specs,omitempty"`
}

var flavors = store.NewKind[Flavor](store.BucketFlavors, store.ScopeGlobal)

// Limits on flavor sizes: beyond them a value is a typo, not a machine.
const (
	maxVCPUs     = 255
	maxRAMMiB    = 4 << 20 // 4 TiB
	maxDiskGiB   = 64 << 10
	maxSwapMiB   = 1 << 20
	maxExtraSpec = 64
)

// defaultFlavors are Nova's classic sizes, created on first start.
var defaultFlavors = []Flavor{
	{Meta: store.Meta{Name: "m1.tiny"}, VCPUs: 1, RAMMiB: 512, DiskGiB: 1, Public: true},
	{Meta: store.Meta{Name: "m1.small"}, VCPUs: 1, RAMMiB: 2048, DiskGiB: 20, Public: true},
	{Meta: store.Meta{Name: "m1.medium"}, VCPUs: 2, RAMMiB: 4096, DiskGiB: 40, Public: true},
	{Meta: store.Meta{Name: "m1.large"}, VCPUs: 4, RAMMiB: 8192, DiskGiB: 80, Public: true},
}

// Validate checks a flavor's sizes.
func (f *Flavor) Validate() error {
	if err := store.ValidateName(f.Name); err != nil {
		return errInvalid("flavor name: %v", err)
	}
	for _, c := range []struct {
		what      string
		v, lo, hi int
	}{
		{"vcpus", f.VCPUs, 1, maxVCPUs},
		{"ram_mib", f.RAMMiB, 16, maxRAMMiB},
		{"disk_gib", f.DiskGiB, 0, maxDiskGiB},
		{"ephemeral_gib", f.EphemeralGiB, 0, maxDiskGiB},
		{"swap_mib", f.SwapMiB, 0, maxSwapMiB},
	} {
		if c.v < c.lo || c.v > c.hi {
			return errInvalid("flavor %s: %s must be between %d and %d, not %d", f.Name, c.what, c.lo, c.hi, c.v)
		}
	}
	if len(f.ExtraSpecs) > maxExtraSpec {
		return errInvalid("flavor %s: at most %d extra specs", f.Name, maxExtraSpec)
	}
	for k, v := range f.ExtraSpecs {
		if k == "" || len(k) > 255 || len(v) > 255 {
			return errInvalid("flavor %s: extra spec keys must be 1-255 bytes and values at most 255", f.Name)
		}
	}
	return nil
}

// ensureDefaultFlavors creates the default flavors when the catalog has none at all.
func (s *Service) ensureDefaultFlavors() error {
	return s.db.Update(func(tx *store.Tx) error {
		n, err := flavors.Count(tx, "")
		if err != nil || n > 0 {
			return err
		}
		for _, f := range defaultFlavors {
			f.ID = store.NewID()
			f.ExtraSpecs = maps.Clone(f.ExtraSpecs)
			if err := flavors.Create(tx, &f); err != nil {
				return fmt.Errorf("create default flavor %s: %w", f.Name, err)
			}
		}
		return nil
	})
}

// CreateFlavor adds a flavor (admin).
func (s *Service) CreateFlavor(_ context.Context, f Flavor) (*Flavor, error) {
	f.Meta = store.Meta{ID: store.NewID(), Name: f.Name}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	err := s.db.Update(func(tx *store.Tx) error {
		if err := flavors.Create(tx, &f); err != nil {
			return err
		}
		return appendEvent(tx, "flavor.created", "flavor", f.ID, "", nil)
	})
	if err != nil {
		return nil, fmt.Errorf("create flavor %s: %w", f.Name, err)
	}
	return &f, nil
}

// Flavor returns one flavor by id or name.
func (s *Service) Flavor(_ context.Context, idOrName string) (*Flavor, error) {
	var f *Flavor
	err := s.db.View(func(tx *store.Tx) (err error) {
		f, err = flavors.Lookup(tx, "", idOrName)
		return err
	})
	return f, err
}

// Flavors lists every flavor, sorted by name.
func (s *Service) Flavors(_ context.Context) ([]*Flavor, error) {
	var out []*Flavor
	err := s.db.View(func(tx *store.Tx) (err error) {
		out, err = flavors.List(tx, "")
		return err
	})
	return out, err
}

// DeleteFlavor removes a flavor (admin). Instances keep their copy of it, as in Nova.
func (s *Service) DeleteFlavor(_ context.Context, idOrName string) error {
	return s.db.Update(func(tx *store.Tx) error {
		f, err := flavors.Lookup(tx, "", idOrName)
		if err != nil {
			return err
		}
		if err := flavors.Delete(tx, f.ID); err != nil {
			return fmt.Errorf("delete flavor %s: %w", f.Name, err)
		}
		return appendEvent(tx, "flavor.deleted", "flavor", f.ID, "", nil)
	})
}
