package openstack

import "net/http"

// Version discovery of the services besides Keystone (keystone.go). Nova and Cinder are pinned at
// their base microversions (compute 2.1, volume 3.0): clients then send exactly those.
func (s *Server) registerDiscovery() {
	for _, p := range []string{"/compute", "/compute/{$}"} {
		s.handle(http.MethodGet, p, s.computeVersions)
	}
	for _, p := range []string{"/compute/v2.1", "/compute/v2.1/{$}"} {
		s.handle(http.MethodGet, p, s.computeVersion)
	}
	for _, p := range []string{"/compute/v2", "/compute/v2/{$}"} {
		s.handle(http.MethodGet, p, s.computeVersion20)
	}
	for _, p := range []string{"/image", "/image/{$}"} {
		s.handle(http.MethodGet, p, s.imageVersions)
	}
	for _, p := range []string{"/networking", "/networking/{$}"} {
		s.handle(http.MethodGet, p, s.networkVersions)
	}
	for _, p := range []string{"/volume", "/volume/{$}"} {
		s.handle(http.MethodGet, p, s.volumeVersions)
	}
	for _, p := range []string{"/volume/v3", "/volume/v3/{$}"} {
		s.handle(http.MethodGet, p, s.volumeVersion)
	}
}

const versionsUpdated = "2013-07-23T11:33:21Z"

func (s *Server) computeV21(r *http.Request) map[string]any {
	return map[string]any{"id": "v2.1", "status": "CURRENT", "version": computeMicroversion,
		"min_version": computeMicroversion, "updated": versionsUpdated,
		"links":       selfLink(s.baseURL(r) + "/compute/v2.1/"),
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}}}
}

// computeV20 is the legacy v2.0 API's document: Nova lists it first (tempest's test_versions
// insists), as SUPPORTED with no microversions. Only its discovery documents are served; the catalog
// points at v2.1.
func (s *Server) computeV20(r *http.Request) map[string]any {
	return map[string]any{"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
		"updated": "2011-01-21T11:33:21Z", "links": selfLink(s.baseURL(r) + "/compute/v2/"),
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}}}
}

func (s *Server) computeVersions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"versions": []any{s.computeV20(r), s.computeV21(r)}})
}

func (s *Server) computeVersion20(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": s.computeV20(r)})
}

func (s *Server) computeVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": s.computeV21(r)})
}

func (s *Server) imageVersions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMultipleChoices, map[string]any{"versions": []any{map[string]any{"id": "v2.16",
		"status": "CURRENT", "links": selfLink(s.baseURL(r) + "/image/v2/")}}})
}

func (s *Server) networkVersions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{"id": "v2.0", "status": "CURRENT",
		"links": selfLink(s.baseURL(r) + "/networking/v2.0/")}}})
}

func (s *Server) volumeV3(r *http.Request) map[string]any {
	return map[string]any{"id": "v3.0", "status": "CURRENT", "version": "3.0", "min_version": "3.0",
		"updated": "2016-02-08T12:20:21Z", "links": selfLink(s.baseURL(r) + "/volume/v3/"),
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}}}
}

func (s *Server) volumeVersions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMultipleChoices, map[string]any{"versions": []any{s.volumeV3(r)}})
}

// volumeVersion is GET /volume/v3/: Cinder answers it with a list of the one version, as the root
// does (tempest's volume versions client reads versions[0]).
func (s *Server) volumeVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"versions": []any{s.volumeV3(r)}})
}
