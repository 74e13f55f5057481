package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

// Quotas is what the quota routes need: a project's limits next to what it uses, and changes to
// the limits. Projects are named by ID or name. The appliance joins identity's limits with the
// usage every service counts.
type Quotas interface {
	Report(ctx context.Context, project string) (*identity.QuotaReport, error)
	SetLimits(ctx context.Context, project string, limits map[string]int64) (*identity.QuotaReport, error)
	ResetLimits(ctx context.Context, project string) (*identity.QuotaReport, error)
}

// setQuotasRequest is PUT /api/v1/quotas/{project}: {"limits": {"instances": 2}}; -1 is unlimited.
type setQuotasRequest struct {
	Limits map[string]int64 `json:"limits"`
}

// showOwnQuotas is GET /api/v1/quotas: the caller's project.
func (s *Server) showOwnQuotas(c echo.Context) error {
	return s.answerQuotas(c, func(q Quotas, ctx context.Context) (*identity.QuotaReport, error) {
		return q.Report(ctx, s.project(c))
	})
}

// showQuotas is GET /api/v1/quotas/{project}: {resource: {limit, in_use}}. Non-admins see only
// their own project's; any other is not found, like a missing one.
func (s *Server) showQuotas(c echo.Context) error {
	return s.answerQuotas(c, func(q Quotas, ctx context.Context) (*identity.QuotaReport, error) {
		r, err := q.Report(ctx, c.Param("project"))
		if err == nil && !s.isAdmin(c) && r.ProjectID != s.project(c) {
			return nil, fault.New(fault.NotFound, "project %q not found", c.Param("project"))
		}
		return r, err
	})
}

// setQuotas overrides some limits of a project and answers with the whole report.
func (s *Server) setQuotas(c echo.Context) error {
	var r setQuotasRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	return s.answerQuotas(c, func(q Quotas, ctx context.Context) (*identity.QuotaReport, error) {
		return q.SetLimits(ctx, c.Param("project"), r.Limits)
	})
}

// resetQuotas gives a project the default limits again.
func (s *Server) resetQuotas(c echo.Context) error {
	return s.answerQuotas(c, func(q Quotas, ctx context.Context) (*identity.QuotaReport, error) {
		return q.ResetLimits(ctx, c.Param("project"))
	})
}

func (s *Server) answerQuotas(c echo.Context, fn func(Quotas, context.Context) (*identity.QuotaReport, error)) error {
	if s.opts.Quotas == nil {
		return fault.New(fault.Unavailable, "quotas are not configured on this server")
	}
	r, err := fn(s.opts.Quotas, c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}
