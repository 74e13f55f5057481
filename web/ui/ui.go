package ui

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"cloudlet/appliance/identity"
	"cloudlet/web/client"
	"cloudlet/web/inproc"
)

// Options are what the dashboard needs: the API to call and a way to learn who a session is.
type Options struct {
	// API is /api/v1's handler; every read and change the dashboard makes goes through it.
	API http.Handler
	// Resolve returns the principal of a session's token (identity.Service.Resolve): the pages
	// show only what the policy lets that principal do.
	Resolve func(ctx context.Context, secret string) (identity.Principal, error)
	Logger  *slog.Logger
}

// Server serves the dashboard's pages, fragments, event stream and static assets.
type Server struct {
	opts   Options
	log    *slog.Logger
	mux    *http.ServeMux
	pages  *pages
	assets *assets
	routes []Route
	xo     *http.CrossOriginProtection
}

// Route is one pattern the dashboard serves, in http.ServeMux's syntax ("GET /instances/{id}").
type Route struct {
	Method  string
	Pattern string // the path part
}

// New builds the dashboard.
func New(o Options) (*Server, error) {
	if o.API == nil || o.Resolve == nil || o.Logger == nil {
		return nil, errors.New("ui.New: API, Resolve and Logger are required")
	}
	s := &Server{opts: o, log: o.Logger, mux: http.NewServeMux(), xo: newCrossOrigin()}
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if !s.assets.built {
		s.log.Warn("dashboard assets are not built: run make ui; consoles and live updates are off")
	}
	if s.pages, err = parsePages(s.assets); err != nil {
		return nil, err
	}
	s.register()
	return s, nil
}

// handle registers one route. Pages that need a session wrap their handler in s.session.
func (s *Server) handle(method, pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(method+" "+pattern, h)
	s.routes = append(s.routes, Route{Method: method, Pattern: pattern})
}

// Routes lists every route, for the API server to mount on its listener.
func (s *Server) Routes() []Route { return s.routes }

// ServeHTTP serves a dashboard request. Cross-origin unsafe requests are refused before any handler
// (Sec-Fetch-Site and Origin); cookie sessions also need the CSRF token (session.go).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w, r)
	s.xo.Handler(s.mux).ServeHTTP(w, r)
}

// newCrossOrigin refuses unsafe requests whose Sec-Fetch-Site or Origin says another site sent them.
func newCrossOrigin() *http.CrossOriginProtection {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	return p
}

// contentSecurityPolicy allows only the dashboard's own scripts, styles, images and connections.
// Inline styles are allowed because xterm.js injects them; inline scripts never are.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func setSecurityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, staticPrefix) {
		h.Set("Cache-Control", "no-store")
	}
}

// api is a client of /api/v1 that acts as the session's user.
func (s *Server) api(sess *session) *client.Client {
	return client.New(client.Options{Transport: inproc.Transport{API: s.opts.API}, Token: sess.secret})
}
