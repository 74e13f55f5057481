package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/sys/unix"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

// Public is the action of routes anyone may call without credentials: /healthz, the token endpoint.
// It is no row of the policy table, so nothing else can be authorized by it.
const Public identity.Action = "public"

// Access is the coarse reading of a route's action, for listings: who may call it at all.
type Access int

// Access rules. The zero value is deliberately not a rule.
const (
	noRule Access = iota
	Open          // no credentials needed (action Public)
	Member        // some non-admin role allows it; the target is checked against the caller's scope
	Admin         // only the admin role allows it
)

func (a Access) String() string {
	switch a {
	case Open:
		return "public"
	case Member:
		return "member"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("no-rule(%d)", int(a))
}

// accessOf derives a route's Access from its action's policy row.
func accessOf(a identity.Action) Access {
	if a == Public {
		return Open
	}
	r, ok := identity.PolicyRule(a)
	if !ok && strings.HasSuffix(string(a), paramTail) {
		r, ok = identity.PolicyRule(fallbackAction(a))
	}
	switch {
	case !ok:
		return noRule
	case slices.Equal(r.Roles, []string{identity.RoleAdmin}):
		return Admin
	}
	return Member
}

// Transport-trusted principals: they authenticated by how they connected, not with a secret.
const (
	viaUnix     = "unix"     // root on the local socket
	viaLoopback = "loopback" // loopback TCP while Options.LoopbackNeedsToken is off
)

// ProjectHeader lets an admin act in another project (name or ID); anyone else sending it gets 403.
const ProjectHeader = "X-Cloudlet-Project"

type ctxKey int

const connKey ctxKey = iota

// connInfo is what the listener learned about a connection before any request on it.
type connInfo struct {
	unix    bool
	peerUID int
}

// connContext records the transport facts of a new connection for authenticate.
func connContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	info := connInfo{unix: true, peerUID: -1}
	if raw, err := uc.SyscallConn(); err == nil {
		_ = raw.Control(func(fd uintptr) {
			if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
				info.peerUID = int(cred.Uid)
			}
		})
	}
	return context.WithValue(ctx, connKey, info)
}

// bearer returns the secret of Authorization: Bearer … or X-Auth-Token, or "".
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, secret, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(secret)
		}
		return h // not a bearer: Resolve refuses it as malformed
	}
	return r.Header.Get("X-Auth-Token")
}

// queryCredentialParams are query parameters that look like a secret. URLs end up in proxy logs,
// browser history and shell history, so a secret there is refused, never used.
var queryCredentialParams = []string{"token", "auth_token", "access_token", "api_key", "x-auth-token"}

func hasQueryCredential(r *http.Request) bool {
	for k := range r.URL.Query() {
		if slices.Contains(queryCredentialParams, strings.ToLower(k)) {
			return true
		}
	}
	return false
}

// authenticate finds who is calling. A bearer secret wins over the transport; without one, root on
// the unix socket is admin, and so is loopback TCP unless Options.LoopbackNeedsToken.
func (s *Server) authenticate(r *http.Request) (identity.Principal, error) {
	if secret := bearer(r); secret != "" {
		if s.opts.Identity == nil {
			return identity.Principal{}, fault.New(fault.Unauthorized, "bearer tokens are not accepted: this server has no identity service")
		}
		return s.opts.Identity.Resolve(r.Context(), secret)
	}
	if info, ok := r.Context().Value(connKey).(connInfo); ok && info.unix {
		if info.peerUID == 0 {
			return s.transportAdmin(viaUnix), nil
		}
		return identity.Principal{}, fault.New(fault.Unauthorized, "authentication required")
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() && !s.opts.LoopbackNeedsToken {
		return s.transportAdmin(viaLoopback), nil
	}
	return identity.Principal{}, fault.New(fault.Unauthorized, "authentication required")
}

// transportAdmin is the principal of a transport-trusted caller: admin, acting in the admin project.
// It has no user ID; user-owned things it makes belong to user admin (see userID).
func (s *Server) transportAdmin(via string) identity.Principal {
	return identity.Principal{UserName: identity.AdminName, ProjectID: s.opts.DefaultProject,
		ProjectName: identity.AdminName, Roles: []string{identity.RoleAdmin}, IsAdmin: true, Via: via}
}

// authorize authenticates the caller and enforces the matched route's action. A route with no
// action does not serve. It runs before anything reads the request body; a refused request's body
// is never read (closeUnread).
func (s *Server) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.admit(c); err != nil {
			closeUnread(c)
			return err
		}
		return next(c)
	}
}

// admit decides whether the request may run its route's handler, noting who calls and in which project.
func (s *Server) admit(c echo.Context) error {
	req := c.Request()
	if hasQueryCredential(req) {
		return fault.New(fault.Invalid, "credentials are not accepted in the URL: send Authorization: Bearer or X-Auth-Token")
	}
	method, path := req.Method, c.Path()
	action, ok := s.rules[ruleKey(method, path)]
	if !ok && s.isEchoRoute(method, path) {
		return fault.New(fault.Forbidden, "route %s %s has no access rule", method, path)
	}
	if !ok || action == Public {
		return nil // no route matched (echo answers 404 or 405), or anyone may call it
	}
	if kind, ok := consoleKind(method, path); ok && req.URL.Query().Has(ticketParam) {
		return s.admitTicket(c, requestAction(action, c), kind)
	}
	p, err := s.authenticate(req)
	if err != nil {
		return err
	}
	c.Set(principalKeyName, p) // known now, so the audit log names who was refused
	if err := identity.Authorize(p, requestAction(action, c)); err != nil {
		return err
	}
	project, err := s.actingProject(c, p)
	if err != nil {
		return err
	}
	c.Set(projectKeyName, project)
	return nil
}

// Echo context keys of the caller's principal and the project it acts in.
const (
	principalKeyName = "cloudlet.principal"
	projectKeyName   = "cloudlet.project"
)

// actingProject is the project the request acts in: the principal's, or for an admin the one
// ProjectHeader names.
func (s *Server) actingProject(c echo.Context, p identity.Principal) (string, error) {
	ref := c.Request().Header.Get(ProjectHeader)
	if ref == "" {
		return p.ProjectID, nil
	}
	if !p.IsAdmin {
		return "", fault.New(fault.Forbidden, "only admins may act in another project (%s)", ProjectHeader)
	}
	if s.opts.Identity == nil {
		return "", fault.New(fault.Unavailable, "%s needs the identity service", ProjectHeader)
	}
	proj, err := s.opts.Identity.Project(c.Request().Context(), ref)
	if err != nil {
		return "", err
	}
	return proj.ID, nil
}

// principal is the caller, as authorize found it (zero on public routes).
func (s *Server) principal(c echo.Context) identity.Principal {
	p, _ := c.Get(principalKeyName).(identity.Principal)
	return p
}

// project is the ID of the project the caller acts in; every service call scopes by it, so
// another project's resources answer 404, like missing ones.
func (s *Server) project(c echo.Context) string {
	id, _ := c.Get(projectKeyName).(string)
	return id
}

// isAdmin reports whether the caller holds the admin role.
func (s *Server) isAdmin(c echo.Context) bool { return s.principal(c).IsAdmin }
