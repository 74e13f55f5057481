package volume

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// CheckDelete answers, changing nothing, what Delete would say of the volume once nothing uses it (its
// attachment left aside). dependents names what depends on it (its snapshots, volumes based on them):
// Delete would refuse it for as long as they exist, so compute keeps such a volume when deleting the
// instance it goes with. err is any other refusal (a task running on it, a volume not found): compute
// refuses the instance's delete for it, before anything is touched.
func (s *Service) CheckDelete(_ context.Context, projectID, idOrName string) (dependents string, err error) {
	err = s.db.View(func(tx *store.Tx) error {
		v, err := volumes.Lookup(tx, projectID, idOrName)
		if err != nil {
			return err
		}
		if v.Task != "" {
			return faultf(ErrConflict, "cannot delete volume %s: a %s runs on it", v.Name, v.Task)
		}
		dependents, err = dependentsOf(tx, v)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("check delete of volume %s: %w", idOrName, err)
	}
	return dependents, nil
}
