package identity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// The quota resources, with Nova's, Cinder's and Neutron's names. ram is in MiB; gigabytes (GiB)
// covers volumes and snapshots together, as Cinder counts them; image_gigabytes (GiB) is the bytes
// of a project's images, saving ones included (Glance's user_storage_quota, per project).
const (
	QuotaInstances          = "instances"
	QuotaCores              = "cores"
	QuotaRAM                = "ram"
	QuotaVolumes            = "volumes"
	QuotaGigabytes          = "gigabytes"
	QuotaSnapshots          = "snapshots"
	QuotaImages             = "images"
	QuotaImageGigabytes     = "image_gigabytes"
	QuotaNetworks           = "networks"
	QuotaPorts              = "ports"
	QuotaFloatingIPs        = "floating_ips"
	QuotaSecurityGroups     = "security_groups"
	QuotaSecurityGroupRules = "security_group_rules"
	QuotaKeypairs           = "keypairs"
)

// Unlimited is the limit that never refuses.
const Unlimited int64 = -1

// ErrQuota: a create (or a grow) would take a project past one of its limits. Kind quota (409);
// the message names the resource, the limit, what is in use and what was asked for.
var ErrQuota error = &fault.Error{Kind: fault.Quota, Msg: "quota exceeded"}

// QuotaResources lists the quota resources in the order they are shown.
func QuotaResources() []string {
	return []string{QuotaInstances, QuotaCores, QuotaRAM, QuotaVolumes, QuotaGigabytes, QuotaSnapshots, QuotaImages,
		QuotaImageGigabytes, QuotaNetworks, QuotaPorts, QuotaFloatingIPs, QuotaSecurityGroups, QuotaSecurityGroupRules, QuotaKeypairs}
}

// DefaultLimits returns the limits of a project without overrides: Nova's, Cinder's and Neutron's
// defaults (images: Glance has no count quota; 100 keeps a runaway script in check; image_gigabytes:
// Glance's user_storage_quota is unlimited by default, 100 GiB keeps one project from filling the disk).
func DefaultLimits() map[string]int64 {
	return map[string]int64{
		QuotaInstances: 10, QuotaCores: 20, QuotaRAM: 51200,
		QuotaVolumes: 10, QuotaGigabytes: 1000, QuotaSnapshots: 10,
		QuotaImages: 100, QuotaImageGigabytes: 100,
		QuotaNetworks: 100, QuotaPorts: 500, QuotaFloatingIPs: 50,
		QuotaSecurityGroups: 10, QuotaSecurityGroupRules: 100,
		QuotaKeypairs: 100,
	}
}

// quotaSet is one project's overrides of the default limits. Its ID is the project's ID, so a
// project has at most one.
type quotaSet struct {
	store.Meta
	Limits map[string]int64 `json:"limits"`
}

var quotaSets = store.NewKind[quotaSet](store.BucketQuotas, store.ScopeProject)

// Check refuses, with ErrQuota, a change that would take projectID's use of resource from inUse
// to inUse+requested past its limit. Callers count inUse from their own records inside tx, the
// write transaction that makes the change: bbolt runs one writer at a time, so concurrent creates
// can never exceed a limit together. A request of 0 or less (a shrink) always passes, and so does
// one for no project (""); a limit lowered below what is in use refuses every further increase.
func (s *Service) Check(tx *store.Tx, projectID, resource string, inUse, requested int64) error {
	if requested <= 0 || projectID == "" {
		return nil
	}
	limit, err := limitOf(tx, projectID, resource)
	if err != nil {
		return err
	}
	if limit == Unlimited || inUse+requested <= limit {
		return nil
	}
	return &fault.Error{Kind: fault.Quota, Err: ErrQuota,
		Msg: fmt.Sprintf("quota exceeded for %s: limit %d, in use %d, requested %d", resource, limit, inUse, requested)}
}

// Limit is projectID's limit for resource in tx (Unlimited: none), for a service that must know how
// much is left rather than only whether a request fits: the image service cuts a stream of unknown
// length where the project's image_gigabytes end.
func (s *Service) Limit(tx *store.Tx, projectID, resource string) (int64, error) {
	return limitOf(tx, projectID, resource)
}

// limitOf is projectID's limit for resource: its override, else the default.
func limitOf(tx *store.Tx, projectID, resource string) (int64, error) {
	limit, ok := DefaultLimits()[resource]
	if !ok {
		return 0, fmt.Errorf("check quota of project %s: unknown quota resource %q", projectID, resource)
	}
	set, err := quotaSets.Get(tx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		return limit, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read quotas of project %s: %w", projectID, err)
	}
	if v, ok := set.Limits[resource]; ok {
		return v, nil
	}
	return limit, nil
}

// Quotas are a project's limits: the defaults with its overrides applied.
type Quotas struct {
	ProjectID string           `json:"project_id"`
	Project   string           `json:"project"`
	Limits    map[string]int64 `json:"limits"`
}

// Limits returns the limits of a project, named by ID or name.
func (s *Service) Limits(_ context.Context, project string) (*Quotas, error) {
	var q *Quotas
	err := s.db.View(func(tx *store.Tx) (err error) { q, err = readQuotas(tx, project); return err })
	if err != nil {
		return nil, fmt.Errorf("quotas of project %s: %w", project, err)
	}
	return q, nil
}

// SetLimits overrides some of a project's limits (the others keep theirs). Names must be quota
// resources and values -1 (unlimited) or more. A limit below what is in use is accepted: it refuses
// further creates until enough is deleted.
func (s *Service) SetLimits(_ context.Context, project string, limits map[string]int64) (*Quotas, error) {
	if err := validateLimits(limits); err != nil {
		return nil, err
	}
	var q *Quotas
	err := s.db.Update(func(tx *store.Tx) error {
		p, err := projects.Lookup(tx, "", project)
		if err != nil {
			return err
		}
		if err := writeOverrides(tx, p.ID, limits); err != nil {
			return err
		}
		if q, err = readQuotas(tx, p.ID); err != nil {
			return err
		}
		return store.AppendEvent(tx, &store.Event{Type: "quota.updated", Kind: "quota", ID: p.ID, ProjectID: p.ID})
	})
	if err != nil {
		return nil, fmt.Errorf("set quotas of project %s: %w", project, err)
	}
	return q, nil
}

// ResetLimits drops a project's overrides: it gets the default limits again.
func (s *Service) ResetLimits(_ context.Context, project string) (*Quotas, error) {
	var q *Quotas
	err := s.db.Update(func(tx *store.Tx) error {
		p, err := projects.Lookup(tx, "", project)
		if err != nil {
			return err
		}
		if err := deleteQuotas(tx, p.ID); err != nil {
			return err
		}
		if q, err = readQuotas(tx, p.ID); err != nil {
			return err
		}
		return store.AppendEvent(tx, &store.Event{Type: "quota.updated", Kind: "quota", ID: p.ID, ProjectID: p.ID})
	})
	if err != nil {
		return nil, fmt.Errorf("reset quotas of project %s: %w", project, err)
	}
	return q, nil
}

func validateLimits(limits map[string]int64) error {
	if len(limits) == 0 {
		return fault.New(fault.Invalid, "no limits given: name at least one of %s", strings.Join(QuotaResources(), ", "))
	}
	defaults := DefaultLimits()
	for _, name := range slices.Sorted(maps.Keys(limits)) {
		if _, ok := defaults[name]; !ok {
			return fault.New(fault.Invalid, "unknown quota resource %.64q: the resources are %s",
				name, strings.Join(QuotaResources(), ", "))
		}
		if v := limits[name]; v < Unlimited {
			return fault.New(fault.Invalid, "quota limit for %s must be -1 (unlimited) or more, not %d", name, v)
		}
	}
	return nil
}

// writeOverrides merges limits into the project's overrides.
func writeOverrides(tx *store.Tx, projectID string, limits map[string]int64) error {
	set, err := quotaSets.Get(tx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		set := &quotaSet{Meta: store.Meta{ID: projectID, ProjectID: projectID}, Limits: maps.Clone(limits)}
		return quotaSets.Create(tx, set)
	}
	if err != nil {
		return err
	}
	if set.Limits == nil {
		set.Limits = map[string]int64{}
	}
	maps.Copy(set.Limits, limits)
	return quotaSets.Update(tx, set)
}

// deleteQuotas removes a project's overrides, if it has any (deleting a project must call it too).
func deleteQuotas(tx *store.Tx, projectID string) error {
	err := quotaSets.Delete(tx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// readQuotas resolves a project by ID or name and returns its limits.
func readQuotas(tx *store.Tx, project string) (*Quotas, error) {
	p, err := projects.Lookup(tx, "", project)
	if err != nil {
		return nil, err
	}
	q := &Quotas{ProjectID: p.ID, Project: p.Name, Limits: DefaultLimits()}
	set, err := quotaSets.Get(tx, p.ID)
	if errors.Is(err, store.ErrNotFound) {
		return q, nil
	}
	if err != nil {
		return nil, err
	}
	for name, v := range set.Limits {
		if _, ok := q.Limits[name]; ok { // a resource this binary no longer knows is ignored
			q.Limits[name] = v
		}
	}
	return q, nil
}

// QuotaUsage is one resource's limit and what the project uses of it.
type QuotaUsage struct {
	Limit int64 `json:"limit"`
	InUse int64 `json:"in_use"`
}

// QuotaReport is a project's limits next to its usage (GET /api/v1/quotas/{project}).
type QuotaReport struct {
	ProjectID string                `json:"project_id"`
	Project   string                `json:"project"`
	Quotas    map[string]QuotaUsage `json:"quotas"`
}

// UsageFunc reports what a service counts of a project's resources (quota resource → in use).
type UsageFunc func(ctx context.Context, projectID string) (map[string]int64, error)

// Report returns a project's limits with the usage the services count, each in its own read.
func (s *Service) Report(ctx context.Context, project string, usage ...UsageFunc) (*QuotaReport, error) {
	q, err := s.Limits(ctx, project)
	if err != nil {
		return nil, err
	}
	r := &QuotaReport{ProjectID: q.ProjectID, Project: q.Project, Quotas: map[string]QuotaUsage{}}
	for name, limit := range q.Limits {
		r.Quotas[name] = QuotaUsage{Limit: limit}
	}
	for _, fn := range usage {
		counts, err := fn(ctx, q.ProjectID)
		if err != nil {
			return nil, fmt.Errorf("usage of project %s: %w", q.Project, err)
		}
		for name, n := range counts {
			if u, ok := r.Quotas[name]; ok {
				u.InUse += n
				r.Quotas[name] = u
			}
		}
	}
	return r, nil
}

// Keypairs belong to a user, not to a project (as in Nova), so the keypairs quota is a limit on each
// user: the one of the project a request is scoped to. A project's report shows none in use.

// keypairOwner reads only who owns a keypair record: counting needs nothing else.
type keypairOwner struct {
	store.Meta
	UserID string `json:"user_id"`
}

var keypairOwners = store.NewKind[keypairOwner](store.BucketKeypairs, store.ScopeProject)

// countKeypairs counts the keypairs of userID.
func countKeypairs(tx *store.Tx, userID string) (int64, error) {
	var n int64
	err := keypairOwners.ForEach(tx, func(k *keypairOwner) error {
		if k.UserID == userID {
			n++
		}
		return nil
	})
	return n, err
}

// checkKeypairQuota refuses one more keypair for userID past the keypairs limit of projectID, the
// project the request is scoped to. Call it in the write transaction that creates the keypair.
func (s *Service) checkKeypairQuota(tx *store.Tx, projectID, userID string) error {
	n, err := countKeypairs(tx, userID)
	if err != nil {
		return err
	}
	return s.Check(tx, projectID, QuotaKeypairs, n, 1)
}
