package openstack

import (
	"net/http"
	"strings"
)

// region is the one region's name; endpoints carry it as both region and region_id (tempest
// matches region, keystoneauth region_id or region).
const region = "RegionOne"

// baseURL is where clients reach this listener: the configured public URL, else the request's own
// scheme and Host.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimRight(s.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func selfLink(href string) []map[string]string {
	return []map[string]string{{"rel": "self", "href": href}}
}

// catalog is the service catalog of a token (research/openstack-api.md §0): devstack-style prefixes
// on this listener; image and network unversioned (clients append v2/ and v2.0/), block-storage under
// both of its types.
func (s *Server) catalog(r *http.Request) []map[string]any {
	base := s.baseURL(r)
	services := []struct{ typ, name, path string }{
		{"identity", "keystone", "/identity"},
		{"compute", "nova", "/compute/v2.1"},
		{"image", "glance", "/image"},
		{"network", "neutron", "/networking"},
		{"block-storage", "cinder", "/volume/v3"},
		{"volumev3", "cinderv3", "/volume/v3"},
	}
	out := make([]map[string]any, 0, len(services))
	for _, svc := range services {
		var eps []map[string]string
		for _, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, map[string]string{"id": svc.name + "-" + iface, "interface": iface, "region": region,
				"region_id": region, "url": base + svc.path})
		}
		out = append(out, map[string]any{"type": svc.typ, "name": svc.name, "id": svc.name, "endpoints": eps})
	}
	return out
}
