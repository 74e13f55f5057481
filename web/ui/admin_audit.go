package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"cloudlet/appliance/identity"
)

func (s *Server) registerAdminAudit() {
	s.handle(http.MethodGet, "/admin/audit", s.withSession(s.adminAudit))
}

// auditPageSize is how many audit entries one page shows.
const auditPageSize = 50

// auditData is one page of the audit log with its filter: without a since, the newest entries,
// newest first; with one, the entries after it, oldest first, and the next page's link.
type auditData struct {
	pageErrors
	User, Action, Project string
	Since                 uint64
	Latest                bool
	Entries               []*identity.AuditEntry
	NextURL               string // the page after this one, oldest first
	FirstURL, NewestURL   string // the log from its beginning, and its newest entries
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	d := auditData{User: q.Get("user"), Action: q.Get("action"), Project: q.Get("project"), Latest: !q.Has("since")}
	d.Since, _ = strconv.ParseUint(q.Get("since"), 10, 64)
	filter := url.Values{}
	for k, v := range map[string]string{"user": d.User, "action": d.Action, "project": d.Project} {
		if v != "" {
			filter.Set(k, v)
		}
	}
	d.NewestURL = "/admin/audit?" + filter.Encode()
	filter.Set("since", "0")
	d.FirstURL = "/admin/audit?" + filter.Encode()
	filter.Del("since")
	var err error
	if d.Latest {
		d.Entries, err = s.auditTail(r, sess, filter, auditPageSize)
	} else {
		var next uint64
		d.Entries, next, err = s.auditPage(r, sess, filter, d.Since, auditPageSize)
		if len(d.Entries) == auditPageSize {
			filter.Set("since", strconv.FormatUint(next, 10))
			d.NextURL = "/admin/audit?" + filter.Encode()
		}
	}
	s.renderPage(w, r, sess, "admin_audit", http.StatusOK, err, &d.pageErrors, &d)
}

// auditPage reads up to limit entries after since that match filter, and the since of the next page.
func (s *Server) auditPage(r *http.Request, sess *session, filter url.Values, since uint64, limit int) ([]*identity.AuditEntry, uint64, error) {
	q := url.Values{"since": {strconv.FormatUint(since, 10)}, "limit": {strconv.Itoa(limit)}}
	for k, v := range filter {
		q[k] = v
	}
	var page identity.AuditPage
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/audit?"+q.Encode(), nil, &page)
	return page.Entries, page.Next, err
}

// auditScan is how many entries one API call reads while looking for the newest.
const auditScan = 5000

// auditTail reads the log to its end (the API pages oldest first) and returns the last n entries
// that match filter, newest first.
func (s *Server) auditTail(r *http.Request, sess *session, filter url.Values, n int) ([]*identity.AuditEntry, error) {
	var last []*identity.AuditEntry
	for since := uint64(0); ; {
		page, next, err := s.auditPage(r, sess, filter, since, auditScan)
		if err != nil {
			return nil, err
		}
		last = append(last, page...)
		last = last[max(0, len(last)-n):]
		if len(page) < auditScan {
			break
		}
		since = next
	}
	slices.Reverse(last)
	return last, nil
}
