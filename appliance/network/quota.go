package network

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

// The quota resources the network service counts (Neutron's names).
const (
	QuotaNetworks           = "networks"
	QuotaPorts              = "ports"
	QuotaFloatingIPs        = "floating_ips"
	QuotaSecurityGroups     = "security_groups"
	QuotaSecurityGroupRules = "security_group_rules"
)

// projectUsage counts a project's networks, ports (instances' too), floating IPs, security groups
// (its default group too, once made) and their rules, from the records: deleting frees at once.
func projectUsage(tx *store.Tx, projectID string) (map[string]int64, error) {
	u := map[string]int64{}
	for _, c := range []struct {
		resource string
		count    func(*store.Tx, string) (int, error)
	}{{QuotaNetworks, networks.Count}, {QuotaPorts, ports.Count}, {QuotaFloatingIPs, floatingIPs.Count},
		{QuotaSecurityGroups, groups.Count}} {
		n, err := c.count(tx, projectID)
		if err != nil {
			return nil, err
		}
		u[c.resource] = int64(n)
	}
	rules, err := countRules(tx, projectID)
	u[QuotaSecurityGroupRules] = rules
	return u, err
}

func countRules(tx *store.Tx, projectID string) (int64, error) {
	list, err := groups.List(tx, projectID)
	var n int64
	for _, g := range list {
		n += int64(len(g.Rules))
	}
	return n, err
}

// checkQuota refuses, in tx, one more of resource for a project past its limit.
func (s *Service) checkQuota(tx *store.Tx, projectID, resource string) error {
	if s.quota == nil {
		return nil
	}
	u, err := projectUsage(tx, projectID)
	if err != nil {
		return err
	}
	return s.quota.Check(tx, projectID, resource, u[resource], 1)
}

// Usage counts a project's networks, ports, floating IPs, security groups and rules, for the quota
// report.
func (s *Service) Usage(_ context.Context, projectID string) (map[string]int64, error) {
	var u map[string]int64
	err := s.db.View(func(tx *store.Tx) (err error) { u, err = projectUsage(tx, projectID); return err })
	if err != nil {
		return nil, fmt.Errorf("count network resources of project %s: %w", projectID, err)
	}
	return u, nil
}
