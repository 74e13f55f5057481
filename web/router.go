package web

import (
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/identity"
)

func ruleKey(method, path string) string { return method + " " + path }

// paramTail marks an action whose verb is the route's :action parameter: "instance:{action}" is
// "instance:stop" for POST /api/v1/instances/x/stop.
const paramTail = ":{action}"

// requestAction is the action a request does: the route's, with a paramTail filled from the path.
// A verb the policy does not name (rebuild, resize, or a typo the handler answers 404 to) is
// fallbackAction's.
func requestAction(a identity.Action, c echo.Context) identity.Action {
	if !strings.HasSuffix(string(a), paramTail) {
		return a
	}
	filled := identity.Action(strings.TrimSuffix(string(a), paramTail) + ":" + c.Param("action"))
	if _, ok := identity.PolicyRule(filled); ok {
		return filled
	}
	return fallbackAction(a)
}

// fallbackAction is "<resource>:update" for "<resource>:{action}".
func fallbackAction(a identity.Action) identity.Action {
	return identity.Action(strings.TrimSuffix(string(a), paramTail) + ":update")
}

// handle registers a route with the policy action it does. A route without an action, or with one
// the policy table does not know, is refused: the caller gets an error and nothing is registered.
func (s *Server) handle(method, path string, action identity.Action, h echo.HandlerFunc) error {
	if accessOf(action) == noRule {
		return fmt.Errorf("register route %s %s: action %q is not in the policy table", method, path, action)
	}
	if strings.HasSuffix(string(action), paramTail) && !strings.HasSuffix(path, "/:action") {
		return fmt.Errorf("register route %s %s: action %s needs an :action parameter", method, path, action)
	}
	key := ruleKey(method, path)
	if _, dup := s.rules[key]; dup {
		return fmt.Errorf("register route %s %s: already registered", method, path)
	}
	s.rules[key] = action
	s.e.Add(method, path, h)
	return nil
}

// Route is one registered route, for listings and route-enumerating tests.
type Route struct {
	Method string
	Path   string
	Action identity.Action // Public, a policy action, or "<resource>:{action}"
	Access Access          // derived from Action's policy row
}

// Routes lists every API route with its action (the dashboard's pages, mounted by mountUI, are not
// API routes: they take forms and answer HTML).
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.e.Routes() {
		if s.uiRoutes[ruleKey(r.Method, r.Path)] {
			continue
		}
		if a, ok := s.rules[ruleKey(r.Method, r.Path)]; ok {
			out = append(out, Route{Method: r.Method, Path: r.Path, Action: a, Access: accessOf(a)})
		}
	}
	return out
}

// isEchoRoute reports whether echo has a route for exactly method and path, registered by any means.
// It runs only for requests whose route has no rule, so its linear scan stays off the normal path.
func (s *Server) isEchoRoute(method, path string) bool {
	for _, r := range s.e.Routes() {
		if r.Method == method && r.Path == path {
			return true
		}
	}
	return false
}
