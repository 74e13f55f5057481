package ui

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/network"
)

// The network pages are tabs: networks (each with its subnet), ports, security groups (each with
// a rule editor), floating IPs and port forwards. Each lists what the API lists and sends its
// forms to the API; a refusal re-renders the page with the message next to the field.

// registerNetwork registers the network pages' routes.
func (s *Server) registerNetwork() {
	for _, page := range []string{"networks", "ports", "security-groups", "floating-ips", "port-forwards"} {
		s.handle(http.MethodGet, "/"+page, s.withSession(s.networkPage(page)))
	}
	s.handle(http.MethodGet, "/security-groups/{id}", s.withSession(s.networkPage("security-group")))
	s.handle(http.MethodPost, "/networks", s.networkChange("networks", "create", createNetworkCall))
	s.handle(http.MethodPost, "/networks/{id}/delete", s.networkChange("networks", "row", deleteCall("networks")))
	s.handle(http.MethodPost, "/ports", s.networkChange("ports", "create", createPortCall))
	s.handle(http.MethodPost, "/ports/{id}/delete", s.networkChange("ports", "row", deleteCall("ports")))
	s.handle(http.MethodPost, "/security-groups", s.networkChange("security-groups", "create", createGroupCall))
	s.handle(http.MethodPost, "/security-groups/{id}/delete", s.networkChange("security-groups", "row", deleteCall("security-groups")))
	s.handle(http.MethodPost, "/security-groups/{id}/rules", s.networkChange("security-group", "rule", addRuleCall))
	s.handle(http.MethodPost, "/security-groups/{id}/rules/{rule}/delete", s.networkChange("security-group", "row", deleteRuleCall))
	s.handle(http.MethodPost, "/floating-ips", s.networkChange("floating-ips", "create", createFloatingIPCall))
	s.handle(http.MethodPost, "/floating-ips/{id}/associate", s.networkChange("floating-ips", "associate", associateCall))
	s.handle(http.MethodPost, "/floating-ips/{id}/disassociate", s.networkChange("floating-ips", "row", disassociateCall))
	s.handle(http.MethodPost, "/floating-ips/{id}/delete", s.networkChange("floating-ips", "row", deleteCall("floating-ips")))
	s.handle(http.MethodPost, "/port-forwards", s.networkChange("port-forwards", "create", createPortForwardCall))
	s.handle(http.MethodPost, "/port-forwards/{id}/delete", s.networkChange("port-forwards", "row", deleteCall("port-forwards")))
}

// networkData is what the network pages show; each page fills the parts it needs.
type networkData struct {
	pageErrors   // for its Confirm (admin.go)
	Networks     []network.Network
	Ports        []network.Port
	Groups       []network.SecurityGroup
	Group        *network.SecurityGroup // the rule editor's group
	FloatingIPs  []network.FloatingIP
	PortForwards []network.PortForward
	Form         *sentForm
}

// NetworkName and GroupName show an ID by its name, when the page read it.
func (d *networkData) NetworkName(id string) string {
	for _, n := range d.Networks {
		if n.ID == id {
			return n.Name
		}
	}
	return id
}

func (d *networkData) GroupName(id string) string {
	for _, g := range d.Groups {
		if g.ID == id {
			return g.Name
		}
	}
	return id
}

// PortLabel shows a port by its instance (or name) and address.
func (d *networkData) PortLabel(id string) string {
	for _, p := range d.Ports {
		if p.ID == id {
			return portLabel(p)
		}
	}
	return id
}

func portLabel(p network.Port) string {
	name := p.Name
	if p.DeviceName != "" {
		name = p.DeviceName
	}
	if name == "" {
		name = p.ID
	}
	if len(p.FixedIPs) > 0 {
		return name + " (" + p.FixedIPs[0].String() + ")"
	}
	return name
}

// networkReads are the API reads behind page; the rule editor's group is id.
func networkReads(d *networkData, page, id string) []read {
	nets := read{path: "/api/v1/networks", out: &d.Networks}
	ports := read{path: "/api/v1/ports", out: &d.Ports}
	groups := read{path: "/api/v1/security-groups", out: &d.Groups}
	switch page {
	case "networks":
		return []read{nets}
	case "ports":
		return []read{ports, nets, groups}
	case "security-groups":
		return []read{groups}
	case "security-group":
		d.Group = &network.SecurityGroup{}
		return []read{{path: "/api/v1/security-groups/" + url.PathEscape(id), out: d.Group}, groups}
	case "floating-ips":
		return []read{{path: "/api/v1/floating-ips", out: &d.FloatingIPs}, nets, ports}
	case "port-forwards":
		return []read{{path: "/api/v1/port-forwards", out: &d.PortForwards}, ports}
	}
	return nil
}

// networkPage serves one tab.
func (s *Server) networkPage(page string) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		s.showNetworkPage(w, r, sess, page, http.StatusOK, nil)
	}
}

func (s *Server) showNetworkPage(w http.ResponseWriter, r *http.Request, sess *session, page string, status int, form *sentForm) {
	d := &networkData{Form: form}
	if err := s.fetchAll(r, sess, networkReads(d, page, r.PathValue("id"))...); err != nil {
		s.pageError(w, err)
		return
	}
	s.render(w, r, status, networkTemplate(page), sess, d)
}

// networkTemplate is a page's template: its name with underscores ("port-forwards": port_forwards).
func networkTemplate(page string) string {
	switch page {
	case "security-group":
		return "security_groups_detail"
	case "security-groups":
		return "security_groups"
	case "floating-ips":
		return "floating_ips"
	case "port-forwards":
		return "port_forwards"
	}
	return page
}

// networkChange serves a form of page: it sends the API the call build makes of it, then returns
// to the page (303), or shows the page again with the API's refusal on form.
func (s *Server) networkChange(page, form string, build func(r *http.Request, f url.Values) apiCall) http.HandlerFunc {
	return s.withSession(func(w http.ResponseWriter, r *http.Request, sess *session) {
		f := postForm(r)
		call := build(r, f)
		if err := s.api(sess).Do(r.Context(), call.method, call.path, call.in, nil); err != nil {
			s.showNetworkPage(w, r, sess, page, formStatus(err), failedForm(form, r, err, call.hints...))
			return
		}
		next := "/" + page
		if page == "security-group" {
			next = "/security-groups/" + url.PathEscape(r.PathValue("id"))
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}
