package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"cloudlet/appliance/identity"
)

func (s *Server) registerAdminQuotas() {
	s.handle(http.MethodGet, "/admin/quotas", s.withSession(func(w http.ResponseWriter, r *http.Request, sess *session) {
		s.quotasPage(w, r, sess, http.StatusOK, &quotasData{Project: r.URL.Query().Get("project")})
	}))
	s.handle(http.MethodPost, "/admin/quotas/{project}", s.withSession(s.setQuotas))
	s.handle(http.MethodPost, "/admin/quotas/{project}/reset", s.withSession(s.resetQuotas))
}

// quotasData is the quotas page: one project's limits and usage, editable.
type quotasData struct {
	pageErrors
	Projects []identity.Project
	Project  string // the chosen project's name ("" before the projects are read: the first)
	Rows     []quotaRow
	Set      *formState
}

// quotaRow is one resource of a quota report, in words.
type quotaRow struct {
	Name, Label string
	identity.QuotaUsage
}

// quotaLabel names a quota resource for people.
func quotaLabel(name string) string {
	labels := map[string]string{
		identity.QuotaInstances: "Instances", identity.QuotaCores: "vCPUs", identity.QuotaRAM: "RAM (MiB)",
		identity.QuotaVolumes: "Volumes", identity.QuotaGigabytes: "Volume storage (GiB)",
		identity.QuotaSnapshots: "Snapshots", identity.QuotaImages: "Images", identity.QuotaImageGigabytes: "Image storage (GiB)",
		identity.QuotaNetworks: "Networks", identity.QuotaPorts: "Ports", identity.QuotaFloatingIPs: "Floating IPs",
		identity.QuotaSecurityGroups: "Security groups", identity.QuotaSecurityGroupRules: "Security group rules",
		identity.QuotaKeypairs: "Keypairs (per user)",
	}
	if l, ok := labels[name]; ok {
		return l
	}
	return name
}

// quotaRows lists a report's resources in identity's order.
func quotaRows(rep *identity.QuotaReport, names []string) []quotaRow {
	var rows []quotaRow
	for _, n := range names {
		if u, ok := rep.Quotas[n]; ok {
			rows = append(rows, quotaRow{Name: n, Label: quotaLabel(n), QuotaUsage: u})
		}
	}
	return rows
}

func (s *Server) quotasPage(w http.ResponseWriter, r *http.Request, sess *session, status int, d *quotasData) {
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/projects", nil, &d.Projects)
	if err == nil && d.Project == "" && len(d.Projects) > 0 {
		d.Project = d.Projects[0].Name
	}
	if err == nil && d.Project != "" {
		var rep identity.QuotaReport
		err = s.callAs(r, sess, http.MethodGet, "/api/v1/quotas/"+url.PathEscape(d.Project), nil, &rep)
		d.Rows = quotaRows(&rep, identity.QuotaResources())
	}
	s.renderPage(w, r, sess, "admin_quotas", status, err, &d.pageErrors, d)
}

// setQuotas sends the limits the form changed (limit_<resource>, next to was_<resource>).
func (s *Server) setQuotas(w http.ResponseWriter, r *http.Request, sess *session) {
	project := r.PathValue("project")
	limits, err := changedLimits(r)
	if err == nil {
		err = s.callAs(r, sess, http.MethodPut, "/api/v1/quotas/"+url.PathEscape(project),
			map[string]any{"limits": limits}, nil)
	}
	if err != nil {
		f := refused(r, err)
		for _, n := range identity.QuotaResources() {
			if f.Field == "" && containsWord(f.Error, n) {
				f.Field = "limit_" + n
			}
		}
		s.quotasPage(w, r, sess, formStatus(err), &quotasData{Project: project, Set: f})
		return
	}
	redirectDone(w, r, "/admin/quotas?project="+url.QueryEscape(project))
}

// changedLimits reads the form's limits that differ from what the page showed.
func changedLimits(r *http.Request) (map[string]int64, error) {
	limits := map[string]int64{}
	for _, n := range identity.QuotaResources() {
		v := r.PostFormValue("limit_" + n)
		if v == "" || v == r.PostFormValue("was_"+n) {
			continue
		}
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, &formInputError{msg: fmt.Sprintf("the limit of %s must be a whole number (-1: unlimited), not %q", n, v)}
		}
		limits[n] = i
	}
	return limits, nil
}

func (s *Server) resetQuotas(w http.ResponseWriter, r *http.Request, sess *session) {
	project := r.PathValue("project")
	if err := s.callAs(r, sess, http.MethodDelete, "/api/v1/quotas/"+url.PathEscape(project), nil, nil); err != nil {
		s.quotasPage(w, r, sess, formStatus(err), &quotasData{Project: project, pageErrors: actionFailed(err)})
		return
	}
	redirectDone(w, r, "/admin/quotas?project="+url.QueryEscape(project))
}
