package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"cloudlet/appliance/identity"
)

func (s *Server) registerAdminAudit() {
	s.handle(http.MethodGet, "/admin/audit", s.withSession(s.adminAudit))
}

// auditPageSize is how many audit entries one page shows.
const auditPageSize = 50

// auditData is one page of the audit log, oldest first, with its filter and the next page's link.
type auditData struct {
	pageErrors
	User, Action, Project string
	Since                 uint64
	Entries               []*identity.AuditEntry
	NextURL, FirstURL     string
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	d := auditData{User: q.Get("user"), Action: q.Get("action"), Project: q.Get("project")}
	d.Since, _ = strconv.ParseUint(q.Get("since"), 10, 64)
	filter := url.Values{}
	for k, v := range map[string]string{"user": d.User, "action": d.Action, "project": d.Project} {
		if v != "" {
			filter.Set(k, v)
		}
	}
	api := url.Values{"since": {strconv.FormatUint(d.Since, 10)}, "limit": {strconv.Itoa(auditPageSize)}}
	for k, v := range filter {
		api[k] = v
	}
	var page identity.AuditPage
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/audit?"+api.Encode(), nil, &page)
	d.Entries = page.Entries
	if len(page.Entries) == auditPageSize {
		filter.Set("since", strconv.FormatUint(page.Next, 10))
		d.NextURL = "/admin/audit?" + filter.Encode()
	}
	if d.Since > 0 {
		filter.Del("since")
		d.FirstURL = "/admin/audit?" + filter.Encode()
	}
	s.renderPage(w, r, sess, "admin_audit", http.StatusOK, err, &d.pageErrors, &d)
}
