package openstack

import (
	"net/http"
	"net/netip"
	"net/url"

	"cloudlet/appliance/network"
	"cloudlet/web/client"
)

// Security groups are cloudlet's (new ones start without rules, as cloudlet's do; each project's
// "default" group allows egress and ingress from its members); their rules are IPv4 only.
func (s *Server) registerSecurityGroups() {
	s.handle(http.MethodGet, "/networking/v2.0/security-groups", s.withToken(s.listSecurityGroups))
	s.handle(http.MethodPost, "/networking/v2.0/security-groups", s.withToken(s.createSecurityGroup))
	s.handle(http.MethodGet, "/networking/v2.0/security-groups/{id}", s.withToken(s.showSecurityGroup))
	s.handle(http.MethodPut, "/networking/v2.0/security-groups/{id}", s.withToken(s.updateSecurityGroup))
	s.handle(http.MethodDelete, "/networking/v2.0/security-groups/{id}", s.withToken(s.deleteSecurityGroup))
	s.handle(http.MethodGet, "/networking/v2.0/security-group-rules", s.withToken(s.listRules))
	s.handle(http.MethodPost, "/networking/v2.0/security-group-rules", s.withToken(s.createRule))
	s.handle(http.MethodGet, "/networking/v2.0/security-group-rules/{id}", s.withToken(s.showRule))
	s.handle(http.MethodDelete, "/networking/v2.0/security-group-rules/{id}", s.withToken(s.deleteRule))
}

// ruleView is a rule of group g in Neutron's shape (absent values are null, as Neutron's).
func ruleView(g network.SecurityGroup, r network.Rule) map[string]any {
	v := with(stamps(recordMeta(g.Meta)), map[string]any{"id": r.ID, "security_group_id": g.ID, "direction": r.Direction,
		"ethertype": "IPv4", "protocol": nil, "port_range_min": nil, "port_range_max": nil,
		"remote_ip_prefix": nil, "remote_group_id": nil, "remote_address_group_id": nil, "description": "",
		"normalized_cidr": nil})
	delete(v, "name")
	if r.Protocol != "" && r.Protocol != "any" {
		v["protocol"] = r.Protocol
	}
	if r.PortMin != 0 || r.PortMax != 0 {
		v["port_range_min"], v["port_range_max"] = r.PortMin, r.PortMax
	}
	if r.RemoteCIDR.IsValid() {
		v["remote_ip_prefix"], v["normalized_cidr"] = r.RemoteCIDR.String(), r.RemoteCIDR.Masked().String()
	}
	if r.RemoteGroup != "" {
		v["remote_group_id"] = r.RemoteGroup
	}
	return v
}

// groupView is a security group in Neutron's shape, always with its list of rules.
func groupView(g network.SecurityGroup) map[string]any {
	rules := make([]map[string]any, 0, len(g.Rules))
	for _, r := range g.Rules {
		rules = append(rules, ruleView(g, r))
	}
	return with(stamps(recordMeta(g.Meta)), map[string]any{"description": g.Description, "security_group_rules": rules,
		"stateful": true, "shared": false})
}

// securityGroups reads the caller's groups (the native API makes "default" on first use).
func securityGroups(r *http.Request, api *client.Client) ([]network.SecurityGroup, error) {
	var list []network.SecurityGroup
	err := api.Do(r.Context(), http.MethodGet, "/api/v1/security-groups", nil, &list)
	return list, err
}

// listSecurityGroups answers the caller's groups that pass the filters.
func (s *Server) listSecurityGroups(w http.ResponseWriter, r *http.Request, api *client.Client) {
	list, err := securityGroups(r, api)
	if err != nil {
		neutronAPIError(w, err, groupErrs)
		return
	}
	views := make([]map[string]any, 0, len(list))
	for _, g := range list {
		views = append(views, groupView(g))
	}
	writeList(w, "security_groups", views, r.URL.Query())
}

// showSecurityGroup answers one group by id (a name, even "default", is 404).
func (s *Server) showSecurityGroup(w http.ResponseWriter, r *http.Request, api *client.Client) {
	g, err := getByID[network.SecurityGroup](r.Context(), api, "/api/v1/security-groups", r.PathValue("id"))
	if err != nil {
		neutronAPIError(w, err, groupErrs)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"security_group": pick(groupView(*g), r.URL.Query())})
}

// groupBody is what a Neutron security group create or update may say.
type groupBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Stateful    *bool   `json:"stateful"`
	ProjectID   string  `json:"project_id"`
	TenantID    string  `json:"tenant_id"`
}

// createSecurityGroup makes a group (without rules, as cloudlet's new groups are).
func (s *Server) createSecurityGroup(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b groupBody
	if !decodeResource(w, r, "security_group", &b) || !s.ownProject(w, r, b.ProjectID, b.TenantID) {
		return
	}
	if b.Stateful != nil && !*b.Stateful {
		badRequest(w, "Unsupported attribute value: stateful false (cloudlet's groups are stateful)")
		return
	}
	in := map[string]string{"name": "", "description": ""}
	if b.Name != nil {
		in["name"] = *b.Name
	}
	if b.Description != nil {
		in["description"] = *b.Description
	}
	var g network.SecurityGroup
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/security-groups", in, &g); err != nil {
		neutronAPIError(w, err, groupErrs)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"security_group": groupView(g)})
}

// updateSecurityGroup renames a group or changes its description.
func (s *Server) updateSecurityGroup(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b groupBody
	if !decodeResource(w, r, "security_group", &b) {
		return
	}
	g, err := getByID[network.SecurityGroup](r.Context(), api, "/api/v1/security-groups", r.PathValue("id"))
	if err == nil {
		in := map[string]any{}
		if b.Name != nil {
			in["name"] = *b.Name
		}
		if b.Description != nil {
			in["description"] = *b.Description
		}
		err = api.Do(r.Context(), http.MethodPatch, "/api/v1/security-groups/"+url.PathEscape(g.ID), in, g)
	}
	if err != nil {
		neutronAPIError(w, err, groupErrs)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"security_group": groupView(*g)})
}

// deleteSecurityGroup removes a group by id; one in use by a port or a rule is 409.
func (s *Server) deleteSecurityGroup(w http.ResponseWriter, r *http.Request, api *client.Client) {
	g, err := getByID[network.SecurityGroup](r.Context(), api, "/api/v1/security-groups", r.PathValue("id"))
	if err == nil {
		err = api.Do(r.Context(), http.MethodDelete, "/api/v1/security-groups/"+url.PathEscape(g.ID), nil, nil)
	}
	if err != nil {
		neutronAPIError(w, err, groupErrs)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// allRules is every rule of the caller's groups, in Neutron's shape.
func allRules(r *http.Request, api *client.Client) ([]map[string]any, error) {
	list, err := securityGroups(r, api)
	views := []map[string]any{}
	for _, g := range list {
		for _, rule := range g.Rules {
			views = append(views, ruleView(g, rule))
		}
	}
	return views, err
}

// listRules answers the rules of the caller's groups that pass the filters.
func (s *Server) listRules(w http.ResponseWriter, r *http.Request, api *client.Client) {
	views, err := allRules(r, api)
	if err != nil {
		neutronAPIError(w, err, ruleErrs)
		return
	}
	writeList(w, "security_group_rules", views, r.URL.Query())
}

// showRule answers one rule of the caller's groups by id.
func (s *Server) showRule(w http.ResponseWriter, r *http.Request, api *client.Client) {
	views, err := allRules(r, api)
	if err != nil {
		neutronAPIError(w, err, ruleErrs)
		return
	}
	for _, v := range views {
		if v["id"] == r.PathValue("id") {
			writeJSON(w, http.StatusOK, map[string]any{"security_group_rule": pick(v, r.URL.Query())})
			return
		}
	}
	notFound(w, ruleErrs, "Security group rule", r.PathValue("id"))
}

// ruleBody is what a Neutron rule create may say.
type ruleBody struct {
	GroupID     string  `json:"security_group_id"`
	Direction   string  `json:"direction"`
	Ethertype   string  `json:"ethertype"`
	Protocol    *string `json:"protocol"`
	PortMin     *int    `json:"port_range_min"`
	PortMax     *int    `json:"port_range_max"`
	RemoteIP    *string `json:"remote_ip_prefix"`
	RemoteGroup *string `json:"remote_group_id"`
	Description string  `json:"description"`
	ProjectID   string  `json:"project_id"`
	TenantID    string  `json:"tenant_id"`
}

// protocolNames are the protocols cloudlet's rules take, by Neutron's names and numbers.
var protocolNames = map[string]string{"": "any", "any": "any", "tcp": "tcp", "6": "tcp", "udp": "udp",
	"17": "udp", "icmp": "icmp", "1": "icmp"}

// rule is the native rule the body asks for; the error names the bad attribute.
func (b ruleBody) rule() (network.Rule, error) {
	var out network.Rule
	proto := ""
	if b.Protocol != nil {
		proto = *b.Protocol
	}
	p, ok := protocolNames[proto]
	switch {
	case b.Direction != "ingress" && b.Direction != "egress":
		return out, errInput("Invalid input for direction: %q is not ingress or egress", b.Direction)
	case b.Ethertype != "" && b.Ethertype != "IPv4":
		return out, errInput("Invalid input for ethertype: %q (cloudlet's rules are IPv4)", b.Ethertype)
	case !ok:
		return out, errInput("Security group rule protocol %s not supported: tcp, udp, icmp or any", proto)
	case b.Description != "":
		return out, errInput("Invalid input for description: cloudlet's rules have none")
	}
	out = network.Rule{Direction: b.Direction, Protocol: p}
	if b.PortMin != nil {
		out.PortMin = *b.PortMin
	}
	if b.PortMax != nil {
		out.PortMax = *b.PortMax
	}
	if b.RemoteIP != nil {
		pfx, err := netip.ParsePrefix(*b.RemoteIP)
		if err != nil {
			return out, errInput("Invalid input for remote_ip_prefix: %q is not an IP prefix", *b.RemoteIP)
		}
		out.RemoteCIDR = pfx
	}
	if b.RemoteGroup != nil {
		out.RemoteGroup = *b.RemoteGroup
	}
	return out, nil
}

// createRule adds a rule to a group of the caller's (by id); the new rule is the group's last.
func (s *Server) createRule(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var b ruleBody
	if !decodeResource(w, r, "security_group_rule", &b) || !s.ownProject(w, r, b.ProjectID, b.TenantID) {
		return
	}
	rule, err := b.rule()
	if err != nil {
		neutronAPIError(w, err, ruleErrs)
		return
	}
	g, err := getByID[network.SecurityGroup](r.Context(), api, "/api/v1/security-groups", b.GroupID)
	if err != nil {
		neutronAPIError(w, err, groupErrs)
		return
	}
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/security-groups/"+url.PathEscape(g.ID)+"/rules", rule, g); err != nil {
		neutronAPIError(w, err, ruleErrs)
		return
	}
	if len(g.Rules) == 0 {
		neutronError(w, http.StatusBadGateway, "HTTPError", "the new rule is missing from group "+g.ID)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"security_group_rule": ruleView(*g, g.Rules[len(g.Rules)-1])})
}

// deleteRule removes a rule of one of the caller's groups, by id.
func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request, api *client.Client) {
	id := r.PathValue("id")
	views, err := allRules(r, api)
	if err != nil {
		neutronAPIError(w, err, ruleErrs)
		return
	}
	for _, v := range views {
		if v["id"] == id {
			if err := api.Do(r.Context(), http.MethodDelete, "/api/v1/security-group-rules/"+url.PathEscape(id), nil, nil); err != nil {
				neutronAPIError(w, err, ruleErrs)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	notFound(w, ruleErrs, "Security group rule", id)
}
