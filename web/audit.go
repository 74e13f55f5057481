package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

// Audit-list limits.
const (
	defaultAuditLimit = 500
	maxAuditLimit     = 5000
)

// loginUserKey is the echo context key under which createToken leaves the user name a login
// attempt gave, for its audit entry (the password stays in the handler).
const loginUserKey = "cloudlet.login_user"

// publicAuditActions names what a public mutating route does, for its audit entry.
var publicAuditActions = map[string]identity.Action{
	ruleKey(http.MethodPost, "/api/v1/auth/tokens"): "token:create",
}

// maxCapturedResponse bounds how much of a create's response auditRequests keeps to find its id.
const maxCapturedResponse = 64 << 10

// auditRequests records every mutating request to a registered route, and every console opened,
// whatever its outcome, in the audit log once the response is written. Only the route, its
// parameters and the outcome are recorded, never the body, the query string or a header. A failure to record is logged; the
// request has been answered already and keeps its status.
func (s *Server) auditRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		action, ok := s.rules[ruleKey(req.Method, c.Path())]
		if s.opts.Identity == nil || !ok || !mutating(req.Method) && !consoleOpen(req.Method, c.Path()) {
			return next(c)
		}
		var capture *responseCapture
		if c.Param("id") == "" { // a create: its id is in the response
			capture = &responseCapture{ResponseWriter: c.Response().Writer}
			c.Response().Writer = capture
			defer func() { c.Response().Writer = capture.ResponseWriter }()
		}
		if err := next(c); err != nil {
			c.Error(err) // write the response now so the status recorded is the real one
		}
		s.recordAudit(c, action, capture)
		return nil
	}
}

// consoleOpen reports whether the route opens a console (a websocket, audited as a change is: who
// watched or typed into which guest). Its entry is written when the session ends, with status 101.
func consoleOpen(method, path string) bool {
	_, ok := consoleKind(method, path)
	return ok
}

func mutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// recordAudit writes the audit entry of a finished request. A failure of an unauthenticated
// caller (no principal: a 401, a refused login) is counted in an aggregated entry instead, so a
// flood without a login cannot grow the catalog by one fsynced entry per request.
func (s *Server) recordAudit(c echo.Context, action identity.Action, capture *responseCapture) {
	e := s.auditEntry(c, action)
	if capture != nil && e.Status/100 == 2 {
		capture.fill(&e)
	}
	if e.Status >= 400 && s.principal(c).Via == "" && s.flood != nil {
		s.flood.add(c.Path(), e)
		return
	}
	ctx := context.WithoutCancel(c.Request().Context()) // the client may be gone; the entry is still owed
	if _, err := s.opts.Identity.RecordAudit(ctx, e); err != nil {
		s.log.Error("audit log write failed", slog.String("method", e.Method), slog.String("path", e.Path),
			slog.Int("status", e.Status), slog.Any("err", err))
	}
}

// auditEntry is what the request says about itself: principal, project, route, outcome, peer.
func (s *Server) auditEntry(c echo.Context, action identity.Action) identity.AuditEntry {
	req := c.Request()
	if a, ok := publicAuditActions[ruleKey(req.Method, c.Path())]; ok {
		action = a
	}
	p := s.principal(c)
	e := identity.AuditEntry{UserID: p.UserID, UserName: p.UserName, Via: p.Via,
		Action: requestAction(action, c), Method: req.Method, Path: filledPath(c),
		ResourceID: c.Param("id"), Status: c.Response().Status, Source: clientAddress(req)}
	e.ProjectID = s.project(c)
	if e.ProjectID == "" {
		e.ProjectID = p.ProjectID // refused before the acting project was known
	}
	switch p.Via {
	case viaUnix:
		e.UserName = "unix:root"
	case viaLoopback:
		e.UserName = "loopback:admin"
	}
	if name, ok := c.Get(loginUserKey).(string); ok {
		e.UserName, e.Via = name, "password"
	}
	if e.Source == "" {
		e.Source = "unix"
	}
	return e
}

// filledPath is the route's pattern with its parameters' values: the request path without the
// query string, in the route's shape.
func filledPath(c echo.Context) string {
	names, values := c.ParamNames(), c.ParamValues()
	pairs := make([]string, 0, 2*len(names))
	for i, n := range names {
		if i < len(values) {
			pairs = append(pairs, ":"+n, values[i])
		}
	}
	return strings.NewReplacer(pairs...).Replace(c.Path())
}

// responseCapture keeps the start of a response, from which recordAudit reads a new resource's id.
// The copy lives only as long as the request.
type responseCapture struct {
	http.ResponseWriter
	head []byte
}

func (w *responseCapture) Write(p []byte) (int, error) {
	if room := maxCapturedResponse + 1 - len(w.head); room > 0 {
		w.head = append(w.head, p[:min(room, len(p))]...)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController (echo's Flush and Hijack) reach the connection's writer.
func (w *responseCapture) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fill takes the new resource's id from a complete JSON response; for a login, also the user and
// project the token is for.
func (w *responseCapture) fill(e *identity.AuditEntry) {
	if len(w.head) > maxCapturedResponse {
		return
	}
	var r struct {
		ID        string `json:"id"`
		UserID    string `json:"user_id"`
		ProjectID string `json:"project_id"`
	}
	if json.Unmarshal(w.head, &r) != nil {
		return
	}
	e.ResourceID = r.ID
	if e.Via == "password" {
		e.UserID, e.ProjectID = r.UserID, r.ProjectID
	}
}

// listAudit serves GET /api/v1/audit?since=SEQ&limit=N&project=&user=&action=: the audit entries
// after SEQ, oldest first, and the next since to ask with.
func (s *Server) listAudit(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	since, err := queryUint(c, "since", 0)
	if err != nil {
		return err
	}
	limit, err := queryUint(c, "limit", defaultAuditLimit)
	if err != nil {
		return err
	}
	if limit == 0 || limit > maxAuditLimit {
		return fault.New(fault.Invalid, "limit must be between 1 and %d", maxAuditLimit)
	}
	f := identity.AuditFilter{Since: since, Limit: int(limit), User: c.QueryParam("user"),
		Action: identity.Action(c.QueryParam("action"))}
	if ref := c.QueryParam("project"); ref != "" {
		f.ProjectID = ref // the ID of a deleted project still has entries
		if proj, err := ids.Project(c.Request().Context(), ref); err == nil {
			f.ProjectID = proj.ID
		} else if fault.KindOf(err) != fault.NotFound {
			return err
		}
	}
	page, err := ids.Audit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}
