package compute

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// ListJSON returns the JSON array of projectID's instances ("" for all), the bytes json.Marshal of
// List's slice gives, copied from the catalog's stored records without decoding them: a list of
// thousands of instances costs a copy, not a decode and an encode of each (benchmark B5).
func (s *Service) ListJSON(_ context.Context, projectID string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *store.Tx) (err error) {
		out, err = instances.AppendJSON(tx, projectID, out)
		return err
	})
	return out, err
}

// canonicalizeInstances rewrites the instance records an older binary stored in another encoding, so
// ListJSON's copies read as this binary's Instance encodes them. It runs once, when compute opens.
func canonicalizeInstances(db *store.DB) error {
	return db.Update(func(tx *store.Tx) error {
		if _, err := instances.Canonicalize(tx); err != nil {
			return fmt.Errorf("re-encode stored instances: %w", err)
		}
		return nil
	})
}
