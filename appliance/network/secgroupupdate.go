package network

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// UpdateSecurityGroupRequest is PATCH /api/v1/security-groups/{id}: each field given replaces the
// group's.
type UpdateSecurityGroupRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// UpdateSecurityGroup renames a group or changes its description; the default group keeps its name.
// Ports and rules refer to groups by id, so nothing else changes.
func (s *Service) UpdateSecurityGroup(_ context.Context, projectID, idOrName string, r UpdateSecurityGroupRequest) (*SecurityGroup, error) {
	var g *SecurityGroup
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if g, err = groups.Lookup(tx, projectID, idOrName); err != nil {
			return err
		}
		if r.Name != nil && *r.Name != g.Name {
			if g.Name == DefaultGroup {
				return errConflict("the default security group cannot be renamed")
			}
			if err := store.ValidateName(*r.Name); err != nil {
				return errInvalid("security group name: %v", err)
			}
			g.Name = *r.Name
		}
		if r.Description != nil {
			if len(*r.Description) > 255 {
				return errInvalid("description is longer than 255 bytes")
			}
			g.Description = *r.Description
		}
		if err := groups.Update(tx, g); err != nil {
			return err
		}
		return appendEvent(tx, "security_group.updated", "security_group", g.ID, projectID)
	})
	if err != nil {
		return nil, fmt.Errorf("update security group %s: %w", idOrName, err)
	}
	return g, nil
}
