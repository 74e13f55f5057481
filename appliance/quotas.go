package appliance

import (
	"context"

	"cloudlet/appliance/identity"
	"cloudlet/web"
)

// quotaReports serves the quota routes: identity keeps the limits, each service counts what a
// project uses of its own resources. The services are read at call time (they are built in turn).
type quotaReports struct{ a *Appliance }

var _ web.Quotas = quotaReports{}

func (q quotaReports) usage() []identity.UsageFunc {
	return []identity.UsageFunc{q.a.compute.Usage, q.a.volumes.Usage, q.a.network.Usage, q.a.images.Usage}
}

func (q quotaReports) Report(ctx context.Context, project string) (*identity.QuotaReport, error) {
	return q.a.identity.Report(ctx, project, q.usage()...)
}

func (q quotaReports) SetLimits(ctx context.Context, project string, limits map[string]int64) (*identity.QuotaReport, error) {
	if _, err := q.a.identity.SetLimits(ctx, project, limits); err != nil {
		return nil, err
	}
	return q.Report(ctx, project)
}

func (q quotaReports) ResetLimits(ctx context.Context, project string) (*identity.QuotaReport, error) {
	if _, err := q.a.identity.ResetLimits(ctx, project); err != nil {
		return nil, err
	}
	return q.Report(ctx, project)
}

// projectID resolves a project's ID or name for the image service's members.
func (a *Appliance) projectID(ctx context.Context, ref string) (string, error) {
	p, err := a.identity.Project(ctx, ref)
	return p.ID, err
}
