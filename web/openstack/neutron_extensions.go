package openstack

import (
	"net/http"

	"cloudlet/web/client"
)

// neutronExtensions are the extensions whose behaviour is really served (research §5): a client
// probing any other (OSC probes a few) gets 404 and does without.
var neutronExtensions = []struct{ alias, name, description string }{
	{"security-group", "security-group", "The security groups extension."},
	{"external-net", "Neutron external network", "Adds external network attribute to network resource."},
	{"router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."},
	{"quotas", "Quota management support", "Expose functions for quotas management per project."},
	{"port-security", "Port Security", "Provides port security."},
	{"standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes."},
}

// registerExtensions serves the extensions list and each one by alias.
func (s *Server) registerExtensions() {
	s.handle(http.MethodGet, "/networking/v2.0/extensions", s.withToken(s.listExtensions))
	s.handle(http.MethodGet, "/networking/v2.0/extensions/{alias}", s.withToken(s.showExtension))
}

// extensionView is extension i in Neutron's shape.
func extensionView(i int) map[string]any {
	e := neutronExtensions[i]
	return map[string]any{"alias": e.alias, "name": e.name, "description": e.description,
		"updated": "2013-07-23T10:00:00-00:00", "links": []any{}}
}

// listExtensions answers every served extension.
func (s *Server) listExtensions(w http.ResponseWriter, r *http.Request, _ *client.Client) {
	out := make([]map[string]any, 0, len(neutronExtensions))
	for i := range neutronExtensions {
		out = append(out, extensionView(i))
	}
	writeJSON(w, http.StatusOK, map[string]any{"extensions": out})
}

// showExtension answers one served extension; any other alias is 404, "not supported".
func (s *Server) showExtension(w http.ResponseWriter, r *http.Request, _ *client.Client) {
	for i, e := range neutronExtensions {
		if e.alias == r.PathValue("alias") {
			writeJSON(w, http.StatusOK, map[string]any{"extension": extensionView(i)})
			return
		}
	}
	neutronError(w, http.StatusNotFound, "ExtensionNotFound", "Extension with alias "+r.PathValue("alias")+" does not exist")
}
