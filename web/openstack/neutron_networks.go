package openstack

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/network"
	"cloudlet/web/client"
)

// registerNetworks serves the networks collection.
func (s *Server) registerNetworks() {
	s.handle(http.MethodGet, "/networking/v2.0/networks", s.withToken(s.listNetworks))
	s.handle(http.MethodPost, "/networking/v2.0/networks", s.withToken(s.createNetwork))
	s.handle(http.MethodGet, "/networking/v2.0/networks/{id}", s.withToken(s.showNetwork))
	s.handle(http.MethodPut, "/networking/v2.0/networks/{id}", s.withToken(s.updateNetwork))
	s.handle(http.MethodDelete, "/networking/v2.0/networks/{id}", s.withToken(s.deleteNetwork))
}

// networkView is a network in Neutron's shape (every list field present: OSC iterates them). Its
// subnet is listed once declared: a network made without one has cloudlet's automatic range,
// which Neutron does not show as a subnet.
func networkView(n network.Network) map[string]any {
	subnets := []string{}
	if !n.Subnet.Auto {
		subnets = append(subnets, subnetID(n.ID))
	}
	return with(stamps(recordMeta(n.Meta)), map[string]any{"status": "ACTIVE", "admin_state_up": true, "shared": n.Shared,
		"subnets": subnets, "router:external": n.External, "mtu": n.MTU, "port_security_enabled": true,
		"description": "", "availability_zone_hints": []string{}, "availability_zones": []string{},
		"ipv4_address_scope": nil, "ipv6_address_scope": nil})
}

// readNetworks reads the caller's networks (with the shared external ones).
func readNetworks(r *http.Request, api *client.Client) ([]network.Network, error) {
	var list []network.Network
	err := api.Do(r.Context(), http.MethodGet, "/api/v1/networks", nil, &list)
	return list, err
}

// networks reads the caller's networks; false after writing the error.
func networks(w http.ResponseWriter, r *http.Request, api *client.Client) ([]network.Network, bool) {
	list, err := readNetworks(r, api)
	if err != nil {
		neutronAPIError(w, err, networkErrs)
		return nil, false
	}
	return list, true
}

// listOf renders the networks with view and keeps those the query's filters pass, cut to its
// fields.
func listOf(list []network.Network, view func(network.Network) map[string]any, q url.Values) []map[string]any {
	out := []map[string]any{}
	for _, n := range list {
		if v := view(n); matches(v, q) {
			out = append(out, pick(v, q))
		}
	}
	return out
}

// listNetworks answers the caller's networks (with shared external ones) that pass the filters.
func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if list, ok := networks(w, r, api); ok {
		writeJSON(w, http.StatusOK, map[string]any{"networks": listOf(list, networkView, r.URL.Query())})
	}
}

// showNetwork reads one network by id; a name is 404 (NetworkNotFound), as in Neutron.
func (s *Server) showNetwork(w http.ResponseWriter, r *http.Request, api *client.Client) {
	n, err := getByID[network.Network](r.Context(), api, "/api/v1/networks", r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, networkErrs)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"network": pick(networkView(*n), r.URL.Query())})
}

// networkBody is what a Neutron network create or update may say. Attributes cloudlet has no
// place for are accepted only with the value every cloudlet network has.
type networkBody struct {
	Name         *string  `json:"name"`
	AdminStateUp *bool    `json:"admin_state_up"`
	Shared       *bool    `json:"shared"`
	External     *bool    `json:"router:external"`
	MTU          int      `json:"mtu"`
	Description  string   `json:"description"`
	PortSecurity *bool    `json:"port_security_enabled"`
	AZHints      []string `json:"availability_zone_hints"`
	ProjectID    string   `json:"project_id"`
	TenantID     string   `json:"tenant_id"`
}

// unsupported names the first attribute set to a value cloudlet's networks cannot have.
func (b networkBody) unsupported() string {
	switch {
	case b.AdminStateUp != nil && !*b.AdminStateUp:
		return "admin_state_up false (cloudlet networks are always up)"
	case b.PortSecurity != nil && !*b.PortSecurity:
		return "port_security_enabled false on a network (set it per port)"
	case b.Description != "":
		return "description (cloudlet networks have none)"
	case len(b.AZHints) > 0:
		return "availability_zone_hints (cloudlet has one zone)"
	}
	return ""
}

// createNetwork makes a cloudlet network without a subnet: cloudlet gives it an automatic range
// until a subnet is created on it (subnets.go). router:external asks for an external network,
// which needs the admin's uplink (the native API says so).
func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b networkBody
	if !decodeResource(w, r, "network", &b) || !s.ownProject(w, r, b.ProjectID, b.TenantID) {
		return
	}
	if u := b.unsupported(); u != "" {
		badRequest(w, "Unsupported attribute value: %s", u)
		return
	}
	req := network.CreateNetworkRequest{MTU: b.MTU, External: b.External != nil && *b.External,
		Shared: b.Shared != nil && *b.Shared}
	if b.Name != nil {
		req.Name = *b.Name
	}
	var n network.Network
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/networks", req, &n); err != nil {
		neutronAPIError(w, err, networkErrs)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"network": networkView(n)})
}

// updateNetwork renames a network (the one attribute cloudlet changes; shared too, for an admin's
// external network).
func (s *Server) updateNetwork(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b networkBody
	if !decodeResource(w, r, "network", &b) {
		return
	}
	n, err := getByID[network.Network](r.Context(), api, "/api/v1/networks", r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, networkErrs)
		return
	}
	if u := b.unsupported(); u != "" || b.MTU != 0 && b.MTU != n.MTU || b.External != nil && *b.External != n.External {
		badRequest(w, "Unsupported update: only name (and shared, on an external network) can change")
		return
	}
	patch := map[string]any{}
	if b.Name != nil && *b.Name != n.Name {
		patch["name"] = *b.Name
	}
	if b.Shared != nil && *b.Shared != n.Shared {
		patch["shared"] = *b.Shared
	}
	if len(patch) > 0 {
		if err := api.Do(r.Context(), http.MethodPatch, "/api/v1/networks/"+url.PathEscape(n.ID), patch, n); err != nil {
			neutronAPIError(w, err, networkErrs)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"network": networkView(*n)})
}

// deleteNetwork removes a network by id (its subnet goes with it); one with ports is 409.
func (s *Server) deleteNetwork(w http.ResponseWriter, r *http.Request, api *client.Client) {
	n, err := getByID[network.Network](r.Context(), api, "/api/v1/networks", r.PathValue("id"))
	if err == nil {
		err = api.Do(r.Context(), http.MethodDelete, "/api/v1/networks/"+url.PathEscape(n.ID), nil, nil)
	}
	if err != nil {
		neutronAPIError(w, err, networkErrs)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
