package web

import (
	"strings"

	"github.com/labstack/echo/v4"

	"cloudlet/web/ui"
)

// mountUI serves the dashboard on the API's listeners. Its routes are public to the API's policy
// check: the dashboard checks its session itself, and everything it reads or changes it asks of
// /api/v1 in process with the session's token, so the API's authentication, policy, quotas and
// audit apply to it unchanged. The in-process calls skip the transfer guard: the browser's own
// request, which carries them, is already guarded.
func (s *Server) mountUI() error {
	if s.opts.Identity == nil {
		return nil // no logins, no dashboard
	}
	d, err := ui.New(ui.Options{API: s.e, Resolve: s.opts.Identity.Resolve, Logger: s.log})
	if err != nil {
		return err
	}
	h := echo.WrapHandler(d)
	for _, r := range d.Routes() {
		path := echoPath(r.Pattern)
		if err := s.handle(r.Method, path, Public, h); err != nil {
			return err
		}
		s.uiRoutes[ruleKey(r.Method, path)] = true
	}
	return nil
}

// echoPath turns an http.ServeMux pattern into echo's: "{id}" is ":id", a trailing "{rest...}" is
// "*", and "/{$}" (the root only) is "/".
func echoPath(pattern string) string {
	if pattern == "/{$}" {
		return "/"
	}
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
