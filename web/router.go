package web

import (
	"fmt"

	"github.com/labstack/echo/v4"
)

func ruleKey(method, path string) string { return method + " " + path }

// handle registers a route with its access rule. A route without a rule is refused: the caller gets an
// error and nothing is registered.
func (s *Server) handle(method, path string, access Access, h echo.HandlerFunc) error {
	if access != Public && access != Member && access != Admin {
		return fmt.Errorf("register route %s %s: no access rule declared", method, path)
	}
	key := ruleKey(method, path)
	if _, dup := s.rules[key]; dup {
		return fmt.Errorf("register route %s %s: already registered", method, path)
	}
	s.rules[key] = access
	s.e.Add(method, path, h)
	return nil
}

// Route is one registered route, for listings and route-enumerating tests.
type Route struct {
	Method string
	Path   string
	Access Access
}

// Routes lists every route with its access rule.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.e.Routes() {
		if a, ok := s.rules[ruleKey(r.Method, r.Path)]; ok {
			out = append(out, Route{Method: r.Method, Path: r.Path, Access: a})
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
