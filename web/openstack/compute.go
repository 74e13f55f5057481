package openstack

import (
	"net/http"
)

// computeMicroversion is the one Nova microversion served: clients then send exactly 2.1 and expect
// its shapes.
const computeMicroversion = "2.1"

func (s *Server) registerCompute() {
	s.handle(http.MethodGet, "/compute/v2.1/flavors", s.nova(s.listFlavors(false)))
	s.handle(http.MethodGet, "/compute/v2.1/flavors/detail", s.nova(s.listFlavors(true)))
	s.handle(http.MethodGet, "/compute/v2.1/flavors/{id}", s.nova(s.showFlavor))
	s.handle(http.MethodGet, "/compute/v2.1/flavors/{id}/os-extra_specs", s.nova(s.flavorExtraSpecs))
}

// nova checks what every Nova call needs: a token (else Keystone's 401) and a microversion this
// server has (else 406; unparsable: 400); it echoes the version headers novaclient checks.
func (s *Server) nova(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("OpenStack-API-Version", "compute "+computeMicroversion)
		hdr.Set("X-OpenStack-Nova-API-Version", computeMicroversion)
		hdr.Add("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
		if status, msg := checkMicroversion(r); status != 0 {
			novaError(w, status, msg)
			return
		}
		s.withToken(h)(w, r)
	}
}

// checkMicroversion reads the compute microversion a request asks for; 0 when it is served.
func checkMicroversion(r *http.Request) (int, string) {
	return checkServiceVersion(r, versionBounds{service: "compute", legacyHeader: "X-OpenStack-Nova-API-Version",
		min: computeMicroversion, major: 2, low: 0, high: 1})
}

// writeAPIError writes an API error in Nova's shape.
func writeAPIError(w http.ResponseWriter, err error) {
	status, msg := apiStatus(err)
	novaError(w, status, msg)
}
