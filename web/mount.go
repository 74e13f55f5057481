package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"cloudlet/web/openstack"
	"cloudlet/web/ui"
)

// Translators are served on the API's listeners beside /api/v1: the dashboard (web/ui) and the
// OpenStack APIs (web/openstack). Their routes are public to the API's policy check: each checks
// its caller's session or token itself, and everything it reads or changes it asks of /api/v1 in
// process with the caller's token, so the API's authentication, policy, quotas and audit apply to
// it unchanged. The in-process calls skip the transfer guard: the caller's own request, which
// carries them, is already guarded.
func (s *Server) mountTranslators() error {
	if s.opts.Identity == nil {
		return nil // no logins: neither the dashboard nor Keystone
	}
	d, err := ui.New(ui.Options{API: s.e, Resolve: s.opts.Identity.Resolve, Logger: s.log})
	if err != nil {
		return err
	}
	var uiRoutes []mountRoute
	for _, r := range d.Routes() {
		uiRoutes = append(uiRoutes, mountRoute(r))
	}
	if err := s.mount(d, uiRoutes); err != nil {
		return err
	}
	o, err := openstack.New(openstack.Options{API: s.e, Resolve: s.opts.Identity.Resolve, Logger: s.log,
		PublicURL: s.opts.PublicURL})
	if err != nil {
		return err
	}
	var osRoutes []mountRoute
	for _, r := range o.Routes() {
		osRoutes = append(osRoutes, mountRoute(r))
	}
	return s.mount(o, osRoutes)
}

// mountRoute is a translator's route: a method and an http.ServeMux path pattern.
type mountRoute struct{ Method, Pattern string }

// mount registers h for routes as public routes outside the API's route listing.
func (s *Server) mount(h http.Handler, routes []mountRoute) error {
	eh := echo.WrapHandler(h)
	for _, r := range routes {
		path := echoPath(r.Pattern)
		if err := s.handle(r.Method, path, Public, eh); err != nil {
			return err
		}
		s.uiRoutes[ruleKey(r.Method, path)] = true
	}
	return nil
}

// echoPath turns an http.ServeMux pattern into echo's: "{id}" is ":id", a trailing "{rest...}" is
// "*", and a trailing "{$}" (exactly that path, slash included) goes.
func echoPath(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			name := strings.Trim(p, "{}")
			if strings.HasSuffix(name, "...") {
				parts[i] = "*"
			} else {
				parts[i] = ":" + name
			}
		}
	}
	return strings.Join(parts, "/")
}
