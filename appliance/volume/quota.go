package volume

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

// The quota resources the volume service counts (Cinder's names). Gigabytes covers volumes and
// snapshots together, each snapshot at the size its volume had when it was taken, as Cinder counts.
const (
	QuotaVolumes   = "volumes"
	QuotaSnapshots = "snapshots"
	QuotaGigabytes = "gigabytes"
)

// projectUsage counts a project's volumes (boot volumes of instances too) and snapshots and sums
// their sizes, from the records: a deleted volume frees its share at once.
func projectUsage(tx *store.Tx, projectID string) (map[string]int64, error) {
	vols, err := volumes.List(tx, projectID)
	if err != nil {
		return nil, err
	}
	snaps, err := snapshots.List(tx, projectID)
	if err != nil {
		return nil, err
	}
	u := map[string]int64{QuotaVolumes: int64(len(vols)), QuotaSnapshots: int64(len(snaps)), QuotaGigabytes: 0}
	for _, v := range vols {
		u[QuotaGigabytes] += int64(v.SizeGiB)
	}
	for _, sn := range snaps {
		u[QuotaGigabytes] += int64(sn.SizeGiB)
	}
	return u, nil
}

// checkQuota refuses, in tx, a change that adds volumes, snapshots and GiB to a project past its
// limits.
func (s *Service) checkQuota(tx *store.Tx, projectID string, vols, snaps, gib int) error {
	if s.quota == nil {
		return nil
	}
	u, err := projectUsage(tx, projectID)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		resource  string
		requested int
	}{{QuotaVolumes, vols}, {QuotaSnapshots, snaps}, {QuotaGigabytes, gib}} {
		if err := s.quota.Check(tx, projectID, c.resource, u[c.resource], int64(c.requested)); err != nil {
			return err
		}
	}
	return nil
}

// Usage counts a project's volumes, snapshots and their GiB, for the quota report.
func (s *Service) Usage(_ context.Context, projectID string) (map[string]int64, error) {
	var u map[string]int64
	err := s.db.View(func(tx *store.Tx) (err error) { u, err = projectUsage(tx, projectID); return err })
	if err != nil {
		return nil, fmt.Errorf("count volumes of project %s: %w", projectID, err)
	}
	return u, nil
}

// checkTransferQuota refuses to move v, with its snapshots, into a project that has no room for them.
func (s *Service) checkTransferQuota(tx *store.Tx, v *Volume, to string) error {
	if s.quota == nil {
		return nil
	}
	snaps, err := snapshots.List(tx, v.ProjectID)
	if err != nil {
		return err
	}
	n, gib := 0, v.SizeGiB
	for _, sn := range snaps {
		if sn.VolumeID == v.ID {
			n, gib = n+1, gib+sn.SizeGiB
		}
	}
	return s.checkQuota(tx, to, 1, n, gib)
}
