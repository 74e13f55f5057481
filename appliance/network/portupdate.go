package network

import (
	"context"
	"fmt"

	"cloudlet/store"
)

// UpdatePortRequest is PUT /api/v1/ports/{id} (Neutron's port update): each field given replaces the
// port's; omitted fields stay.
type UpdatePortRequest struct {
	Name           *string   `json:"name"`
	SecurityGroups *[]string `json:"security_groups"`       // names or ids; [] = none
	PortSecurity   *bool     `json:"port_security_enabled"` // off needs no security groups
}

// UpdatePort renames a port or changes its security groups or port security; the new rules apply to the running
// instance at once. Turning port security on without naming groups gives the project's default group.
func (s *Service) UpdatePort(ctx context.Context, projectID, idOrName string, r UpdatePortRequest) (*Port, error) {
	var p *Port
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if p, err = ports.Lookup(tx, projectID, idOrName); err != nil {
			return err
		}
		if r.Name != nil {
			if err := store.ValidateName(*r.Name); err != nil {
				return errInvalid("port name: %v", err)
			}
			p.Name = *r.Name
		}
		if r.PortSecurity != nil {
			p.PortSecurity = *r.PortSecurity
		}
		switch {
		case r.SecurityGroups != nil:
			p.SecurityGroups = append([]string{}, *r.SecurityGroups...)
		case r.PortSecurity != nil && !*r.PortSecurity:
			p.SecurityGroups = nil
		}
		if err := updatedGroups(tx, p, r.SecurityGroups != nil); err != nil {
			return err
		}
		if err := ports.Update(tx, p); err != nil {
			return err
		}
		return appendEvent(tx, "port.updated", "port", p.ID, p.ProjectID)
	})
	if err != nil {
		return nil, fmt.Errorf("update port %s: %w", idOrName, err)
	}
	if err := s.syncFirewall(ctx); err != nil {
		return nil, fmt.Errorf("update port %s: %w", idOrName, err)
	}
	return p, nil
}

// updatedGroups resolves the port's groups. An explicit empty list on a secured port means no group
// at all (nothing allowed in or out), unlike a new port, which gets the default group.
func updatedGroups(tx *store.Tx, p *Port, explicit bool) error {
	if explicit && p.PortSecurity && len(p.SecurityGroups) == 0 {
		p.SecurityGroups = []string{}
		return nil
	}
	return resolveGroups(tx, p)
}
