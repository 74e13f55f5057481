package network

import (
	"context"
	"fmt"

	"cloudlet/appliance/network/firewall"
	"cloudlet/store"
)

// AddRule adds a rule to a group. A remote group is named by id or name in the same project. The rule
// is checked with the firewall's own validation, so what is stored can always be enforced.
func (s *Service) AddRule(ctx context.Context, projectID, group string, r Rule) (*SecurityGroup, error) {
	var g *SecurityGroup
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if _, err = ensureDefaultGroup(tx, projectID); err != nil {
			return err
		}
		if g, err = groups.Lookup(tx, projectID, group); err != nil {
			return err
		}
		if len(g.Rules) >= maxRules {
			return errConflict("security group %s already has %d rules", g.Name, maxRules)
		}
		if r.RemoteGroup != "" {
			remote, err := groups.Lookup(tx, projectID, r.RemoteGroup)
			if err != nil {
				return errInvalid("remote group %q not found", r.RemoteGroup)
			}
			r.RemoteGroup = remote.ID
		}
		r.ID = store.NewID()
		r.Protocol = ruleProtocol(r.Protocol)
		if err := checkRule(g, r); err != nil {
			return err
		}
		if err := s.checkQuota(tx, projectID, QuotaSecurityGroupRules); err != nil {
			return err
		}
		g.Rules = append(g.Rules, r)
		if err := groups.Update(tx, g); err != nil {
			return err
		}
		return appendEvent(tx, "security_group.updated", "security_group", g.ID, projectID)
	})
	if err != nil {
		return nil, fmt.Errorf("add a rule to security group %s: %w", group, err)
	}
	if err := s.syncFirewall(ctx); err != nil {
		return nil, fmt.Errorf("add a rule to security group %s: %w", group, err)
	}
	return g, nil
}

// checkRule validates r as the firewall will see it (its remote group stands in as a known group).
func checkRule(g *SecurityGroup, r Rule) error {
	fg := firewall.SecurityGroup{ID: g.ID, Rules: []firewall.Rule{{Direction: r.Direction, Protocol: r.Protocol,
		PortMin: r.PortMin, PortMax: r.PortMax, RemoteCIDR: r.RemoteCIDR, RemoteGroup: r.RemoteGroup}}}
	m := firewall.Model{SecurityGroups: []firewall.SecurityGroup{fg}}
	if r.RemoteGroup != "" && r.RemoteGroup != g.ID {
		m.SecurityGroups = append(m.SecurityGroups, firewall.SecurityGroup{ID: r.RemoteGroup})
	}
	return m.Validate()
}

// DeleteRule removes a rule (by id) from whichever of the project's groups holds it.
func (s *Service) DeleteRule(ctx context.Context, projectID, ruleID string) error {
	err := s.db.Update(func(tx *store.Tx) error {
		list, err := groups.List(tx, projectID)
		if err != nil {
			return err
		}
		for _, g := range list {
			for i, r := range g.Rules {
				if r.ID == ruleID {
					g.Rules = append(g.Rules[:i], g.Rules[i+1:]...)
					if err := groups.Update(tx, g); err != nil {
						return err
					}
					return appendEvent(tx, "security_group.updated", "security_group", g.ID, projectID)
				}
			}
		}
		return errNotFound("security group rule %s not found", ruleID)
	})
	if err != nil {
		return err
	}
	return s.syncFirewall(ctx)
}
