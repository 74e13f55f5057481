package openstack

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"cloudlet/appliance/identity"
	"cloudlet/web/client"
)

// Cinder v3 at /volume/v3 and /volume/v3/{project_id} (research §6): cloudlet's volumes and
// snapshots. The catalog points at /volume/v3, where cinderclient, the SDK and tempest append
// /volumes; older configurations put the project ID in the URL, so both are served: a first
// segment that names no Cinder collection is a project ID, which must be the token's.
//
// Both forms cannot be http.ServeMux patterns side by side ("/volume/v3/{project_id}/volumes"
// and "/volume/v3/volumes/{id}" overlap without either being more specific), so one route per
// method takes the rest of the path and an inner mux routes it without the prefix.
func (s *Server) registerVolumes() {
	inner := http.NewServeMux()
	s.registerCinderVolumes(inner)
	s.registerCinderMetadata(inner)
	s.registerCinderSnapshots(inner)
	s.registerCinderMisc(inner)
	inner.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		novaError(w, http.StatusNotFound, "The resource could not be found.")
	})
	h := s.cinder(inner)
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		s.handle(m, "/volume/v3/{rest...}", h)
	}
}

// volumeMicroversion is the one Cinder microversion served (3.0): cinderclient sends none, the
// SDK asks for what the version document offers.
const volumeMicroversion = "3.0"

var volumeBounds = versionBounds{service: "volume", min: volumeMicroversion, major: 3, low: 0, high: 0}

// cinderCollections are the first path segments of the resources served.
var cinderCollections = []string{"volumes", "snapshots", "types", "limits", "os-availability-zone", "os-quota-sets"}

// cinderCall is what a Cinder handler works with: the API as the caller, who the caller is (for
// user_id and the project in links), and the base of the resources' links.
type cinderCall struct {
	api   *client.Client
	who   identity.Principal
	links string // e.g. http://H/volume/v3/<project id>
}

type cinderHandler func(w http.ResponseWriter, r *http.Request, c *cinderCall)

type cinderCallKey struct{}

// cinder checks what every Cinder call needs (a token, else Keystone's 401; microversion 3.0,
// else 406), echoes the version header, strips the prefix and the optional project ID, and hands
// the request to the inner routes.
func (s *Server) cinder(inner http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("OpenStack-API-Version", "volume "+volumeMicroversion)
		w.Header().Add("Vary", "OpenStack-API-Version")
		if status, msg := checkServiceVersion(r, volumeBounds); status != 0 {
			novaError(w, status, msg)
			return
		}
		s.withToken(func(w http.ResponseWriter, r *http.Request, api *client.Client) {
			who, err := s.opts.Resolve(r.Context(), callerToken(r))
			if err != nil {
				keystoneError(w, http.StatusUnauthorized, "the request you have made requires authentication")
				return
			}
			rest := r.PathValue("rest")
			if first, tail, _ := strings.Cut(rest, "/"); !slices.Contains(cinderCollections, first) {
				if first != who.ProjectID {
					novaError(w, http.StatusNotFound, "project "+first+" in the URL is not the token's project")
					return
				}
				rest = tail
			}
			call := &cinderCall{api: api, who: who, links: s.baseURL(r) + "/volume/v3/" + who.ProjectID}
			in := r.Clone(context.WithValue(r.Context(), cinderCallKey{}, call))
			in.URL.Path, in.URL.RawPath = "/"+rest, ""
			inner.ServeHTTP(w, in)
		})(w, r)
	}
}

// cinderRoute registers h on the inner mux.
func cinderRoute(mux *http.ServeMux, method, pattern string, h cinderHandler) {
	mux.HandleFunc(method+" "+pattern, func(w http.ResponseWriter, r *http.Request) {
		h(w, r, r.Context().Value(cinderCallKey{}).(*cinderCall))
	})
}

// cinderAPIError writes an API error in Cinder's body: over quota is 413 overLimit there.
func cinderAPIError(w http.ResponseWriter, err error) {
	status, msg := apiStatus(err)
	if isQuotaExceeded(status, msg) {
		status = http.StatusRequestEntityTooLarge
	}
	novaError(w, status, msg)
}
