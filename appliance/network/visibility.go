package network

import (
	"context"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// A project sees its own networks and the external networks an admin shared (read-only: every
// change looks the network up among the project's own, so another project's answers 404). Floating
// IPs come from either; another project's unshared network answers 404 like a missing one, so its
// existence does not leak.

// Network returns one network the project sees: its own, else a shared external one ("" = any).
func (s *Service) Network(_ context.Context, projectID, idOrName string) (*Network, error) {
	var n *Network
	err := s.db.View(func(tx *store.Tx) (err error) { n, err = visibleNetwork(tx, projectID, idOrName); return err })
	return n, err
}

// Networks lists the networks the project sees: its own, then the shared external ones of other
// projects ("" = all).
func (s *Service) Networks(_ context.Context, projectID string) ([]*Network, error) {
	var out []*Network
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		if out, err = networks.List(tx, projectID); err != nil || projectID == "" {
			return err
		}
		return networks.ForEach(tx, func(n *Network) error {
			if n.Shared && n.ProjectID != projectID {
				out = append(out, n)
			}
			return nil
		})
	})
	return out, err
}

func visibleNetwork(tx *store.Tx, projectID, ref string) (*Network, error) {
	n, err := networks.Lookup(tx, projectID, ref)
	if fault.KindOf(err) != fault.NotFound || projectID == "" {
		return n, err
	}
	shared, serr := sharedNetwork(tx, ref)
	if serr != nil || shared != nil {
		return shared, serr
	}
	return nil, err
}

// sharedNetwork finds a shared external network by id or name, or nil. Two shared networks of one
// name (in different projects) need the id.
func sharedNetwork(tx *store.Tx, ref string) (*Network, error) {
	var found []*Network
	err := networks.ForEach(tx, func(n *Network) error {
		if n.Shared && (n.ID == ref || n.Name == ref) {
			found = append(found, n)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case len(found) > 1:
		return nil, errConflict("%d shared networks are called %s: give the id of the one you mean", len(found), ref)
	case len(found) == 1:
		return found[0], nil
	}
	return nil, nil
}
