package web

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	"golang.org/x/sys/unix"

	"cloudlet/appliance/fault"
)

// Access is the rule a route declares: who may call it.
type Access int

// Access rules. The zero value is deliberately not a rule, so a forgotten one is caught.
const (
	noRule Access = iota
	Public        // anyone, without credentials: /healthz, the token endpoint, static UI files
	Member        // any authenticated principal, scoped to its project
	Admin         // principals with the admin role
)

func (a Access) String() string {
	switch a {
	case Public:
		return "public"
	case Member:
		return "member"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("no-rule(%d)", int(a))
}

// Principal is who is calling. Until the identity service lands, only the local unix socket (as root)
// and loopback TCP are trusted, both as admin.
type Principal struct {
	Via   string `json:"via"` // "unix" or "loopback"
	Admin bool   `json:"admin"`
	UID   int    `json:"uid,omitempty"` // peer uid on the unix socket
}

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

// principalOf identifies the caller from transport facts alone (no tokens yet).
func principalOf(r *http.Request) (Principal, bool) {
	if info, ok := r.Context().Value(connKey).(connInfo); ok && info.unix {
		return Principal{Via: "unix", UID: info.peerUID, Admin: info.peerUID == 0}, info.peerUID == 0
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
		return Principal{Via: "loopback", Admin: true}, true
	}
	return Principal{}, false
}

// authorize enforces the matched route's access rule. A route with no rule does not serve.
func (s *Server) authorize(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		method, path := c.Request().Method, c.Path()
		rule, ok := s.rules[ruleKey(method, path)]
		if !ok && s.isEchoRoute(method, path) {
			return fault.New(fault.Forbidden, "route %s %s has no access rule", method, path)
		}
		if !ok {
			return next(c) // no route matched: echo answers 404 or 405
		}
		if rule == Public {
			return next(c)
		}
		p, ok := principalOf(c.Request())
		if !ok {
			return fault.New(fault.Unauthorized, "authentication required")
		}
		if rule == Admin && !p.Admin {
			return fault.New(fault.Forbidden, "admin role required")
		}
		return next(c)
	}
}
