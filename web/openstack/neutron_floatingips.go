package openstack

import (
	"encoding/json"
	"net/http"
	"net/url"

	"cloudlet/appliance/network"
	"cloudlet/web/client"
)

// Floating IPs come from cloudlet's external networks (Neutron's router:external ones) and map
// to a port's one address.
func (s *Server) registerFloatingIPs() {
	s.handle(http.MethodGet, "/networking/v2.0/floatingips", s.withToken(s.listFloatingIPs))
	s.handle(http.MethodPost, "/networking/v2.0/floatingips", s.withToken(s.createFloatingIP))
	s.handle(http.MethodGet, "/networking/v2.0/floatingips/{id}", s.withToken(s.showFloatingIP))
	s.handle(http.MethodPut, "/networking/v2.0/floatingips/{id}", s.withToken(s.updateFloatingIP))
	s.handle(http.MethodDelete, "/networking/v2.0/floatingips/{id}", s.withToken(s.deleteFloatingIP))
}

// floatingView is a floating IP in Neutron's shape; port_id and fixed_ip_address are null when it
// is not associated.
func floatingView(f network.FloatingIP) map[string]any {
	v := with(stamps(recordMeta(f.Meta)), map[string]any{"floating_ip_address": f.IP.String(),
		"floating_network_id": f.NetworkID, "port_id": nil, "fixed_ip_address": nil, "router_id": nil,
		"status": f.Status, "description": f.Description, "port_details": nil, "qos_policy_id": nil,
		"port_forwardings": []any{}, "dns_domain": "", "dns_name": ""})
	delete(v, "name")
	if f.PortID != "" {
		v["port_id"] = f.PortID
		if f.FixedIP.IsValid() {
			v["fixed_ip_address"] = f.FixedIP.String()
		}
	}
	return v
}

// listFloatingIPs answers the caller's floating IPs that pass the query's filters.
func (s *Server) listFloatingIPs(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var list []network.FloatingIP
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/floating-ips", nil, &list); err != nil {
		neutronAPIError(w, err, floatingErrs)
		return
	}
	views := make([]map[string]any, 0, len(list))
	for _, f := range list {
		views = append(views, floatingView(f))
	}
	writeList(w, "floatingips", views, r.URL.Query())
}

// showFloatingIP answers one floating IP by id (an address or a name is 404).
func (s *Server) showFloatingIP(w http.ResponseWriter, r *http.Request, api *client.Client) {
	f, err := getByID[network.FloatingIP](r.Context(), api, "/api/v1/floating-ips", r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, floatingErrs)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"floatingip": pick(floatingView(*f), r.URL.Query())})
}

// optional is an attribute whose presence matters apart from its value: {"port_id": null}
// disassociates, a body without port_id leaves the association alone.
type optional struct {
	set bool
	val *string
}

// UnmarshalJSON records that the attribute was given, null or not.
func (o *optional) UnmarshalJSON(b []byte) error {
	o.set = true
	return json.Unmarshal(b, &o.val)
}

// floatingBody is what a Neutron floating IP create or update may say.
type floatingBody struct {
	NetworkID   string   `json:"floating_network_id"`
	Address     string   `json:"floating_ip_address"`
	PortID      optional `json:"port_id"`
	FixedIP     *string  `json:"fixed_ip_address"`
	Description *string  `json:"description"`
	SubnetID    *string  `json:"subnet_id"`
	ProjectID   string   `json:"project_id"`
	TenantID    string   `json:"tenant_id"`
}

// port is the port id the body names ("" for none or null).
func (b floatingBody) port() string {
	if b.PortID.val == nil {
		return ""
	}
	return *b.PortID.val
}

// checkPort checks the port the body names: one of the caller's, by id; fixed_ip_address, when
// given, must be its address (cloudlet's ports have one, which the floating IP maps to).
func checkPort(r *http.Request, api *client.Client, b floatingBody) error {
	if b.port() == "" {
		return nil
	}
	p, err := getByID[network.Port](r.Context(), api, "/api/v1/ports", b.port())
	if err != nil || b.FixedIP == nil {
		return err
	}
	for _, a := range p.FixedIPs {
		if a.String() == *b.FixedIP {
			return nil
		}
	}
	return errInput("Invalid input for fixed_ip_address: %s is not an address of port %s", *b.FixedIP, p.ID)
}

// createFloatingIP allocates an address of an external network (by id), associated at once when a
// port is given.
func (s *Server) createFloatingIP(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b floatingBody
	if !decodeResource(w, r, "floatingip", &b) || !s.ownProject(w, r, b.ProjectID, b.TenantID) {
		return
	}
	if b.SubnetID != nil && *b.SubnetID != subnetID(b.NetworkID) {
		notFound(w, subnetErrs, "Subnet", *b.SubnetID)
		return
	}
	n, err := getByID[network.Network](r.Context(), api, "/api/v1/networks", b.NetworkID)
	if err != nil {
		neutronAPIError(w, err, networkErrs)
		return
	}
	if err := checkPort(r, api, b); err != nil {
		neutronAPIError(w, err, portErrs)
		return
	}
	req := map[string]any{"network": n.ID, "port": b.port()}
	if b.Address != "" {
		req["floating_ip_address"] = b.Address
	}
	if b.Description != nil {
		req["description"] = *b.Description
	}
	var f network.FloatingIP
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/floating-ips", req, &f); err != nil {
		neutronAPIError(w, err, floatingErrs)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"floatingip": floatingView(f)})
}

// updateFloatingIP associates the floating IP with a port (port_id) or disassociates it (null).
func (s *Server) updateFloatingIP(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b floatingBody
	if !decodeResource(w, r, "floatingip", &b) {
		return
	}
	f, err := getByID[network.FloatingIP](r.Context(), api, "/api/v1/floating-ips", r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, floatingErrs)
		return
	}
	if b.NetworkID != "" && b.NetworkID != f.NetworkID || b.Address != "" && b.Address != f.IP.String() ||
		b.Description != nil && *b.Description != f.Description {
		badRequest(w, "Unsupported update: only port_id (and fixed_ip_address) can change")
		return
	}
	if err := checkPort(r, api, b); err != nil {
		neutronAPIError(w, err, portErrs)
		return
	}
	if b.PortID.set {
		port := b.port()
		err = api.Do(r.Context(), http.MethodPut, "/api/v1/floating-ips/"+url.PathEscape(f.ID), map[string]any{"port": port}, f)
	}
	if err != nil {
		neutronAPIError(w, err, floatingErrs)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"floatingip": floatingView(*f)})
}

// deleteFloatingIP releases a floating IP by id (disassociating it first, as the native API does).
func (s *Server) deleteFloatingIP(w http.ResponseWriter, r *http.Request, api *client.Client) {
	f, err := getByID[network.FloatingIP](r.Context(), api, "/api/v1/floating-ips", r.PathValue("id"))
	if err == nil {
		err = api.Do(r.Context(), http.MethodDelete, "/api/v1/floating-ips/"+url.PathEscape(f.ID), nil, nil)
	}
	if err != nil {
		neutronAPIError(w, err, floatingErrs)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
