package compute

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// Quota checks a project's limits inside the write transaction that changes what it uses (the
// identity service's quotas, wired in appliance). Options.Quota nil means no quotas.
type Quota interface {
	Check(tx *store.Tx, projectID, resource string, inUse, requested int64) error
}

// The quota resources compute counts (Nova's names; ram in MiB).
const (
	QuotaInstances = "instances"
	QuotaCores     = "cores"
	QuotaRAM       = "ram"
)

// projectUsage counts a project's instances, whatever their state, and sums their flavors. It is
// counted from the records, never kept as a counter, so a deleted instance frees its share at once.
func projectUsage(tx *store.Tx, projectID string) (map[string]int64, error) {
	list, err := instances.List(tx, projectID)
	if err != nil {
		return nil, err
	}
	u := map[string]int64{QuotaInstances: int64(len(list)), QuotaCores: 0, QuotaRAM: 0}
	for _, inst := range list {
		u[QuotaCores] += int64(inst.Flavor.VCPUs)
		u[QuotaRAM] += int64(inst.Flavor.RAMMiB)
	}
	return u, nil
}

// checkQuota refuses, in tx, a change that adds instances, vcpus and MiB of RAM to a project past
// its limits.
func (s *Service) checkQuota(tx *store.Tx, projectID string, instances, vcpus, ramMiB int) error {
	if s.o.Quota == nil {
		return nil
	}
	u, err := projectUsage(tx, projectID)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		resource  string
		requested int
	}{{QuotaInstances, instances}, {QuotaCores, vcpus}, {QuotaRAM, ramMiB}} {
		if err := s.o.Quota.Check(tx, projectID, c.resource, u[c.resource], int64(c.requested)); err != nil {
			return err
		}
	}
	return nil
}

// Usage counts a project's instances, vcpus and RAM (MiB), for the quota report.
func (s *Service) Usage(_ context.Context, projectID string) (map[string]int64, error) {
	var u map[string]int64
	err := s.db.View(func(tx *store.Tx) (err error) { u, err = projectUsage(tx, projectID); return err })
	if err != nil {
		return nil, fmt.Errorf("count instances of project %s: %w", projectID, err)
	}
	return u, nil
}
