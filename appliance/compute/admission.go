package compute

import "cloudlet/store"

// Capacity is what the host offers to instances after allocation ratios (Nova's cpu_allocation_ratio and
// ram_allocation_ratio) and reserved memory are applied. Zero means unlimited, for tests.
type Capacity struct {
	VCPUs     int `json:"vcpus"`
	MemoryMiB int `json:"memory_mib"`
}

// Usage is what instances holding the host use now.
type Usage struct {
	VCPUs     int `json:"vcpus"`
	MemoryMiB int `json:"memory_mib"`
	Instances int `json:"instances"`
}

// usage sums the flavors of every instance that has, or is about to have, a QEMU process, except skip.
func usage(tx *store.Tx, skip string) (Usage, error) {
	var u Usage
	err := instances.ForEach(tx, func(inst *Instance) error {
		if inst.ID != skip && holdsHost(inst) {
			u.VCPUs += inst.Flavor.VCPUs
			u.MemoryMiB += inst.Flavor.RAMMiB
			u.Instances++
		}
		return nil
	})
	return u, err
}

// admit checks, inside the transaction that claims the resources, that f still fits on the host.
// Being in the same write transaction as the state change, two concurrent starts cannot both fit.
func (s *Service) admit(tx *store.Tx, instID string, f Flavor) error {
	c := s.o.Capacity
	if c.VCPUs <= 0 && c.MemoryMiB <= 0 {
		return nil
	}
	u, err := usage(tx, instID)
	if err != nil {
		return err
	}
	if c.VCPUs > 0 && u.VCPUs+f.VCPUs > c.VCPUs {
		return errNoCapacity("no capacity: %d vcpus requested, %d of %d in use on this host", f.VCPUs, u.VCPUs, c.VCPUs)
	}
	if c.MemoryMiB > 0 && u.MemoryMiB+f.RAMMiB > c.MemoryMiB {
		return errNoCapacity("no capacity: %d MiB RAM requested, %d of %d MiB in use on this host",
			f.RAMMiB, u.MemoryMiB, c.MemoryMiB)
	}
	return nil
}

// HostUsage reports capacity and usage (for /api/v1/host and the dashboard).
func (s *Service) HostUsage() (Capacity, Usage, error) {
	var u Usage
	err := s.db.View(func(tx *store.Tx) (err error) { u, err = usage(tx, ""); return err })
	return s.o.Capacity, u, err
}
