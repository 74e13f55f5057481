package network

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// UpdateNetworkRequest is PATCH /api/v1/networks/{id}: each field given replaces the network's.
type UpdateNetworkRequest struct {
	Shared *bool `json:"shared"` // an external network's sharing with every project (admins only)
}

// UpdateNetwork shares an external network of the project with every project, or stops sharing it.
// Like Neutron, it refuses to stop while other projects hold floating IPs from it (without naming
// them).
func (s *Service) UpdateNetwork(_ context.Context, projectID, ref string, r UpdateNetworkRequest) (*Network, error) {
	if r.Shared == nil {
		return nil, errInvalid(`give "shared": true or false`)
	}
	var n *Network
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if n, err = networks.Lookup(tx, projectID, ref); err != nil {
			return err
		}
		switch {
		case n.Shared == *r.Shared:
			return nil
		case *r.Shared && n.Kind != KindExternal:
			return errInvalid("only an external network is shared (for floating IPs); %s is a %s network", n.Name, n.Kind)
		case !*r.Shared:
			if err := noOtherProjects(tx, n); err != nil {
				return err
			}
		}
		n.Shared = *r.Shared
		if err := networks.Update(tx, n); err != nil {
			return err
		}
		return appendEvent(tx, "network.updated", "network", n.ID, n.ProjectID)
	})
	if err != nil {
		return nil, fmt.Errorf("update network %s: %w", ref, err)
	}
	return n, nil
}

// noOtherProjects refuses to unshare n while another project holds a floating IP from it.
func noOtherProjects(tx *store.Tx, n *Network) error {
	return floatingIPs.ForEach(tx, func(f *FloatingIP) error {
		if f.NetworkID == n.ID && f.ProjectID != n.ProjectID {
			return errConflict("network %s has floating IPs of other projects: they must be released before it stops being shared", n.Name)
		}
		return nil
	})
}
