package openstack

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"cloudlet/appliance/network"
	"cloudlet/web/client"
)

// novaOwner is the device_owner Neutron shows for an instance's port (cloudlet's is
// network.OwnerInstance).
const novaOwner = "compute:nova"

// registerPorts serves the ports collection.
func (s *Server) registerPorts() {
	s.handle(http.MethodGet, "/networking/v2.0/ports", s.withToken(s.listPorts))
	s.handle(http.MethodPost, "/networking/v2.0/ports", s.withToken(s.createPort))
	s.handle(http.MethodGet, "/networking/v2.0/ports/{id}", s.withToken(s.showPort))
	s.handle(http.MethodPut, "/networking/v2.0/ports/{id}", s.withToken(s.updatePort))
	s.handle(http.MethodDelete, "/networking/v2.0/ports/{id}", s.withToken(s.deletePort))
}

// portView is a port in Neutron's shape: device_id is the instance's id and device_owner
// "compute:nova" for an instance's port; no binding attributes (they are admin-only in Neutron).
func portView(p network.Port) map[string]any {
	ips := make([]map[string]string, 0, len(p.FixedIPs))
	for _, a := range p.FixedIPs {
		ips = append(ips, map[string]string{"subnet_id": subnetID(p.NetworkID), "ip_address": a.String()})
	}
	owner, status := p.DeviceOwner, "DOWN"
	if owner == network.OwnerInstance {
		owner = novaOwner
	}
	if p.DeviceID != "" {
		status = "ACTIVE"
	}
	groups := append([]string{}, p.SecurityGroups...)
	return with(stamps(recordMeta(p.Meta)), map[string]any{"network_id": p.NetworkID, "mac_address": p.MAC,
		"fixed_ips": ips, "security_groups": groups, "port_security_enabled": p.PortSecurity,
		"device_owner": owner, "device_id": p.DeviceID, "admin_state_up": true, "status": status,
		"description": "", "allowed_address_pairs": []any{}, "extra_dhcp_opts": []any{},
		"dns_name": "", "dns_assignment": []any{}})
}

// portMatches is matches for ports, with Neutron's filters on list attributes: fixed_ips
// ("ip_address=…" or "subnet_id=…") and security_groups (a group the port is in).
func portMatches(v map[string]any, q url.Values) bool {
	for _, want := range q["fixed_ips"] {
		key, val, _ := strings.Cut(want, "=")
		if !slices.ContainsFunc(v["fixed_ips"].([]map[string]string), func(ip map[string]string) bool { return ip[key] == val }) {
			return false
		}
	}
	for _, g := range q["security_groups"] {
		if !slices.Contains(v["security_groups"].([]string), g) {
			return false
		}
	}
	return matches(v, q, "fixed_ips", "security_groups", "fields")
}

// listPorts answers the caller's ports that pass the filters (list attributes included).
func (s *Server) listPorts(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var list []network.Port
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/ports", nil, &list); err != nil {
		neutronAPIError(w, err, portErrs)
		return
	}
	out := []map[string]any{}
	for _, p := range list {
		if v := portView(p); portMatches(v, r.URL.Query()) {
			out = append(out, pick(v, r.URL.Query()))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ports": out})
}

// showPort answers one port by id (a name is 404).
func (s *Server) showPort(w http.ResponseWriter, r *http.Request, api *client.Client) {
	p, err := getByID[network.Port](r.Context(), api, "/api/v1/ports", r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, portErrs)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"port": pick(portView(*p), r.URL.Query())})
}

// portBody is what a Neutron port create or update may say.
type portBody struct {
	Name           *string              `json:"name"`
	NetworkID      string               `json:"network_id"`
	AdminStateUp   *bool                `json:"admin_state_up"`
	FixedIPs       *[]map[string]string `json:"fixed_ips"`
	MAC            string               `json:"mac_address"`
	SecurityGroups *[]string            `json:"security_groups"`
	PortSecurity   *bool                `json:"port_security_enabled"`
	DeviceOwner    *string              `json:"device_owner"`
	DeviceID       *string              `json:"device_id"`
	Description    string               `json:"description"`
	ProjectID      string               `json:"project_id"`
	TenantID       string               `json:"tenant_id"`
}

// fixedIP is the one address a create body asks for on network n (zero: any); cloudlet's ports
// have one address, on the network's one subnet.
func (b portBody) fixedIP(networkID string) (netip.Addr, error) {
	if b.FixedIPs == nil || len(*b.FixedIPs) == 0 {
		return netip.Addr{}, nil
	}
	if len(*b.FixedIPs) > 1 {
		return netip.Addr{}, errInput("Invalid input for fixed_ips: a cloudlet port has one address")
	}
	ip := (*b.FixedIPs)[0]
	if sid, ok := ip["subnet_id"]; ok && sid != subnetID(networkID) {
		return netip.Addr{}, &client.Error{Code: http.StatusNotFound, Message: "Subnet " + sid + " could not be found."}
	}
	if ip["ip_address"] == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(ip["ip_address"])
	if err != nil {
		return netip.Addr{}, errInput("Invalid input for fixed_ips: %q is not an IP address", ip["ip_address"])
	}
	return a, nil
}

// createPort makes a free port on a network of the caller's (by id).
func (s *Server) createPort(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b portBody
	if !decodeResource(w, r, "port", &b) || !s.ownProject(w, r, b.ProjectID, b.TenantID) {
		return
	}
	switch {
	case b.AdminStateUp != nil && !*b.AdminStateUp || b.Description != "":
		badRequest(w, "Unsupported attribute value: admin_state_up false or a description")
		return
	case b.DeviceOwner != nil && strings.HasPrefix(*b.DeviceOwner, "compute:"):
		badRequest(w, "Invalid input for device_owner: an instance's port is bound by creating the server with it")
		return
	}
	n, err := getByID[network.Network](r.Context(), api, "/api/v1/networks", b.NetworkID)
	if err != nil {
		neutronAPIError(w, err, networkErrs)
		return
	}
	req := network.CreatePortRequest{Network: n.ID, MAC: b.MAC, PortSecurity: b.PortSecurity}
	if req.FixedIP, err = b.fixedIP(n.ID); err != nil {
		neutronAPIError(w, err, subnetErrs)
		return
	}
	if b.Name != nil {
		req.Name = *b.Name
	}
	if b.SecurityGroups != nil {
		req.SecurityGroups = *b.SecurityGroups
	}
	if b.DeviceOwner != nil {
		req.DeviceOwner = *b.DeviceOwner
	}
	if b.DeviceID != nil {
		req.DeviceID = *b.DeviceID
	}
	var p network.Port
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/ports", req, &p); err != nil {
		neutronAPIError(w, err, portErrs)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"port": portView(p)})
}

// updatePort changes a port's name, security groups or port security; other attributes only with
// the value they have.
func (s *Server) updatePort(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b portBody
	if !decodeResource(w, r, "port", &b) {
		return
	}
	p, err := getByID[network.Port](r.Context(), api, "/api/v1/ports", r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, portErrs)
		return
	}
	if b.NetworkID != "" && b.NetworkID != p.NetworkID || b.MAC != "" && b.MAC != p.MAC || b.FixedIPs != nil ||
		b.DeviceID != nil && *b.DeviceID != p.DeviceID || b.AdminStateUp != nil && !*b.AdminStateUp || b.Description != "" {
		badRequest(w, "Unsupported update: only name, security_groups and port_security_enabled can change")
		return
	}
	req := network.UpdatePortRequest{Name: b.Name, SecurityGroups: b.SecurityGroups, PortSecurity: b.PortSecurity}
	if err := api.Do(r.Context(), http.MethodPut, "/api/v1/ports/"+url.PathEscape(p.ID), req, p); err != nil {
		neutronAPIError(w, err, portErrs)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"port": portView(*p)})
}

// deletePort removes a free port by id; an instance's port is 409 (detach it through Nova).
func (s *Server) deletePort(w http.ResponseWriter, r *http.Request, api *client.Client) {
	p, err := getByID[network.Port](r.Context(), api, "/api/v1/ports", r.PathValue("id"))
	if err == nil {
		err = api.Do(r.Context(), http.MethodDelete, "/api/v1/ports/"+url.PathEscape(p.ID), nil, nil)
	}
	if err != nil {
		neutronAPIError(w, err, portErrs)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
