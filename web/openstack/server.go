package openstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"cloudlet/appliance/identity"
	"cloudlet/web/client"
	"cloudlet/web/inproc"
)

// Options are what the translation layer needs: the API to call and a way to read a token.
type Options struct {
	// API is /api/v1's handler: every read and change goes through it, with the caller's token.
	API http.Handler
	// Resolve returns the principal of a token (identity.Service.Resolve), for Keystone's token
	// bodies and validation.
	Resolve func(ctx context.Context, secret string) (identity.Principal, error)
	Logger  *slog.Logger
	// PublicURL, when set (e.g. "https://cloud.example.org:8443"), is the base of the service
	// catalog's endpoints; otherwise each request's own scheme and Host are.
	PublicURL string
}

// Server serves the OpenStack APIs' subset.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	routes []Route
	now    func() time.Time
}

// Route is one pattern served, in http.ServeMux's syntax.
type Route struct {
	Method  string
	Pattern string
}

// New builds the translation layer.
func New(o Options) (*Server, error) {
	if o.API == nil || o.Resolve == nil || o.Logger == nil {
		return nil, errors.New("openstack.New: API, Resolve and Logger are required")
	}
	s := &Server{opts: o, mux: http.NewServeMux(), now: time.Now}
	s.registerIdentity()
	s.registerProjects()
	s.registerDiscovery()
	s.registerCompute()
	s.registerServers()
	s.registerKeypairs()
	s.registerImage()
	s.registerNetwork()
	s.registerVolumes()
	return s, nil
}

func (s *Server) handle(method, pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(method+" "+pattern, h)
	s.routes = append(s.routes, Route{Method: method, Pattern: pattern})
}

// Routes lists every route, for the API server to mount on its listener.
func (s *Server) Routes() []Route { return s.routes }

// ServeHTTP serves an OpenStack request. Every answer carries x-openstack-request-id, as every
// OpenStack service's does (tempest reads it from a server create's answer).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Openstack-Request-Id", requestID())
	s.mux.ServeHTTP(w, r)
}

// requestID is a new request id in OpenStack's form, "req-" and a random UUID.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b[:])
	return "req-" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// api is a client of /api/v1 acting with token (the caller's X-Auth-Token); remote is the caller's
// address, passed only for logins (per-address rate limits).
func (s *Server) api(token, remote string) *client.Client {
	return client.New(client.Options{Transport: inproc.Transport{API: s.opts.API, RemoteAddr: remote}, Token: token})
}

// apiHandler serves a call with a client of /api/v1 acting with the caller's token.
type apiHandler func(w http.ResponseWriter, r *http.Request, api *client.Client)

// withToken runs h for a caller whose X-Auth-Token is valid; any other gets Keystone's 401, which
// every service answers (keystonemiddleware's, in front of each).
func (s *Server) withToken(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := callerToken(r)
		if _, err := s.opts.Resolve(r.Context(), token); err != nil {
			keystoneError(w, http.StatusUnauthorized, "the request you have made requires authentication")
			return
		}
		h(w, r, s.api(token, ""))
	}
}

// callerToken is the request's X-Auth-Token.
func callerToken(r *http.Request) string { return r.Header.Get("X-Auth-Token") }

// writeJSON writes v as the answer, with the exact content type the clients check.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiStatus is the status of an API error (502 when the call itself failed).
func apiStatus(err error) (int, string) {
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Code, ae.Message
	}
	return http.StatusBadGateway, err.Error()
}
