package network

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"cloudlet/appliance/network/firewall"
	"cloudlet/store"
)

// SecurityGroup is a named set of rules applied to ports (Neutron's). Every project has a "default"
// group: all egress, and ingress only from members of the same group.
type SecurityGroup struct {
	store.Meta
	Description string `json:"description,omitempty"`
	Rules       []Rule `json:"rules"`
}

// Rule allows one kind of traffic. Without a remote, it applies to any address.
type Rule struct {
	ID          string       `json:"id"`
	Direction   string       `json:"direction"` // ingress | egress
	Protocol    string       `json:"protocol"`  // tcp | udp | icmp | any
	PortMin     int          `json:"port_range_min,omitempty"`
	PortMax     int          `json:"port_range_max,omitempty"`
	RemoteCIDR  netip.Prefix `json:"remote_ip_prefix,omitempty"`
	RemoteGroup string       `json:"remote_group_id,omitempty"`
}

// DefaultGroup is the name of every project's default security group.
const DefaultGroup = "default"

// maxRules bounds a group: each rule becomes one iptables rule in each of its member ports' chains
// (a remote group is one ipset, however many members it has).
const maxRules = 200

var groups = store.NewKind[SecurityGroup](store.BucketSecurityGroups, store.ScopeProject)

// ensureDefaultGroup creates the project's default group inside tx when it has none, and returns it.
func ensureDefaultGroup(tx *store.Tx, projectID string) (*SecurityGroup, error) {
	if g, err := groups.Lookup(tx, projectID, DefaultGroup); err == nil {
		return g, nil
	}
	id := store.NewID()
	g := &SecurityGroup{Meta: store.Meta{ID: id, Name: DefaultGroup, ProjectID: projectID},
		Description: "egress allowed, ingress only from members of this group",
		Rules: []Rule{
			{ID: store.NewID(), Direction: firewall.Egress, Protocol: firewall.Any},
			{ID: store.NewID(), Direction: firewall.Ingress, Protocol: firewall.Any, RemoteGroup: id},
		}}
	if err := groups.Create(tx, g); err != nil {
		return nil, err
	}
	return g, appendEvent(tx, "security_group.created", "security_group", g.ID, projectID)
}

// CreateSecurityGroup makes an empty group (no rules: nothing allowed until rules are added).
func (s *Service) CreateSecurityGroup(_ context.Context, projectID, name, description string) (*SecurityGroup, error) {
	if err := store.ValidateName(name); err != nil {
		return nil, errInvalid("security group name: %v", err)
	}
	if len(description) > 255 {
		return nil, errInvalid("description is longer than 255 bytes")
	}
	g := &SecurityGroup{Meta: store.Meta{ID: store.NewID(), Name: name, ProjectID: projectID}, Description: description, Rules: []Rule{}}
	err := s.db.Update(func(tx *store.Tx) error {
		if _, err := ensureDefaultGroup(tx, projectID); err != nil {
			return err
		}
		if err := s.checkQuota(tx, projectID, QuotaSecurityGroups); err != nil {
			return err
		}
		if err := groups.Create(tx, g); err != nil {
			return err
		}
		return appendEvent(tx, "security_group.created", "security_group", g.ID, projectID)
	})
	if err != nil {
		return nil, fmt.Errorf("create security group %s: %w", name, err)
	}
	return g, nil
}

// SecurityGroups lists the project's groups (its default group is made on first use).
func (s *Service) SecurityGroups(_ context.Context, projectID string) ([]*SecurityGroup, error) {
	var out []*SecurityGroup
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if _, err = ensureDefaultGroup(tx, projectID); err != nil {
			return err
		}
		out, err = groups.List(tx, projectID)
		return err
	})
	return out, err
}

// SecurityGroup returns one group of the project.
func (s *Service) SecurityGroup(_ context.Context, projectID, idOrName string) (*SecurityGroup, error) {
	var g *SecurityGroup
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if _, err = ensureDefaultGroup(tx, projectID); err != nil {
			return err
		}
		g, err = groups.Lookup(tx, projectID, idOrName)
		return err
	})
	return g, err
}

// DeleteSecurityGroup removes a group no port uses; the default group stays.
func (s *Service) DeleteSecurityGroup(_ context.Context, projectID, idOrName string) error {
	return s.db.Update(func(tx *store.Tx) error {
		g, err := groups.Lookup(tx, projectID, idOrName)
		if err != nil {
			return err
		}
		if g.Name == DefaultGroup {
			return errConflict("the default security group cannot be deleted")
		}
		if err := groupInUse(tx, g); err != nil {
			return err
		}
		if err := groups.Delete(tx, g.ID); err != nil {
			return err
		}
		return appendEvent(tx, "security_group.deleted", "security_group", g.ID, projectID)
	})
}

// groupInUse names a port or a group rule that refers to g.
func groupInUse(tx *store.Tx, g *SecurityGroup) error {
	err := ports.ForEach(tx, func(p *Port) error {
		if slices.Contains(p.SecurityGroups, g.ID) {
			return errConflict("security group %s is used by port %s", g.Name, p.Name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return groups.ForEach(tx, func(o *SecurityGroup) error {
		for _, r := range o.Rules {
			if r.RemoteGroup == g.ID && o.ID != g.ID {
				return errConflict("security group %s is the remote group of a rule of group %s", g.Name, o.Name)
			}
		}
		return nil
	})
}
