package images

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

// QuotaImages is the quota resource the image service counts: a project's images, whatever their
// status (an import in progress holds its place).
const QuotaImages = "images"

// checkQuota refuses, in tx, one more image for a project past its limit.
func (s *Service) checkQuota(tx *store.Tx, projectID string) error {
	if s.quota == nil {
		return nil
	}
	n, err := imageRecords.Count(tx, projectID)
	if err != nil {
		return err
	}
	return s.quota.Check(tx, projectID, QuotaImages, int64(n), 1)
}

// Usage counts a project's images, for the quota report.
func (s *Service) Usage(_ context.Context, projectID string) (map[string]int64, error) {
	var n int
	err := s.db.View(func(tx *store.Tx) (err error) { n, err = imageRecords.Count(tx, projectID); return err })
	if err != nil {
		return nil, fmt.Errorf("count images of project %s: %w", projectID, err)
	}
	return map[string]int64{QuotaImages: int64(n)}, nil
}
