package volume

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// CheckDelete answers, changing nothing, whether Delete would refuse the volume for what depends on it
// (its snapshots, volumes based on them) or a task running on it, leaving its attachment aside: compute
// asks it before the first destructive step of deleting an instance whose volumes go with it, so such a
// delete is refused whole instead of failing half way.
func (s *Service) CheckDelete(_ context.Context, projectID, idOrName string) error {
	err := s.db.View(func(tx *store.Tx) error {
		v, err := volumes.Lookup(tx, projectID, idOrName)
		if err != nil {
			return err
		}
		if v.Task != "" {
			return faultf(ErrConflict, "cannot delete volume %s: a %s runs on it", v.Name, v.Task)
		}
		return deletable(tx, v)
	})
	if err != nil {
		return fmt.Errorf("check delete of volume %s: %w", idOrName, err)
	}
	return nil
}
