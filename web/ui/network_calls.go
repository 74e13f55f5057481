package ui

import (
	"net/http"
	"net/url"
	"strings"
)

// The API requests the network pages' forms make. Values go as typed (numbers as numbers when they
// are numbers), so the API's validation, not the page's, judges them; the hints place its message
// next to the field it names.

// deleteCall deletes the {id} of the path's collection, which the API names the same way.
func deleteCall(collection string) func(*http.Request, url.Values) apiCall {
	return func(r *http.Request, _ url.Values) apiCall {
		return apiCall{method: http.MethodDelete, path: "/api/v1/" + collection + "/" + url.PathEscape(r.PathValue("id"))}
	}
}

// createNetworkCall creates a network with its subnet (the gateway defaults to the first address).
func createNetworkCall(_ *http.Request, f url.Values) apiCall {
	subnet := body("cidr", f.Get("cidr"), "gateway", f.Get("gateway"), "dhcp", f.Get("dhcp") == "on")
	return apiCall{http.MethodPost, "/api/v1/networks",
		body("name", f.Get("name"), "kind", f.Get("kind"), "subnet", subnet),
		[]string{"gateway", "gateway", "parseaddr", "gateway", "cidr", "cidr", "subnet", "cidr", "parseprefix", "cidr",
			"name", "name", "kind", "kind"}}
}

// createPortCall creates a port on a network, with the security groups picked.
func createPortCall(_ *http.Request, f url.Values) apiCall {
	in := body("name", f.Get("name"), "network", f.Get("network"), "fixed_ip", f.Get("fixed_ip"))
	if groups := f["security_groups"]; len(groups) > 0 {
		in["security_groups"] = groups
	}
	return apiCall{http.MethodPost, "/api/v1/ports", in,
		[]string{"network", "network", "fixed_ip", "fixed_ip", "parseaddr", "fixed_ip", " ip ", "fixed_ip",
			"security group", "security_groups", "name", "name"}}
}

func createGroupCall(_ *http.Request, f url.Values) apiCall {
	return apiCall{http.MethodPost, "/api/v1/security-groups",
		body("name", f.Get("name"), "description", f.Get("description")), []string{"name", "name"}}
}

// addRuleCall adds a rule to the group: direction, protocol, port range, and a remote CIDR or group.
// A range's end left empty is its start: one port.
func addRuleCall(r *http.Request, f url.Values) apiCall {
	portMax, maxField := f.Get("port_max"), "port_max"
	if strings.TrimSpace(portMax) == "" {
		portMax, maxField = f.Get("port_min"), "port_min"
	}
	in := body("direction", f.Get("direction"), "protocol", f.Get("protocol"),
		"port_range_min", number(f.Get("port_min")), "port_range_max", number(portMax),
		"remote_ip_prefix", f.Get("remote_cidr"), "remote_group_id", f.Get("remote_group"))
	return apiCall{http.MethodPost, "/api/v1/security-groups/" + url.PathEscape(r.PathValue("id")) + "/rules", in,
		[]string{"both remote", "remote_cidr", "remote cidr", "remote_cidr", "parseprefix", "remote_cidr",
			"remote_ip_prefix", "remote_cidr", "remote group", "remote_group", "port_range_max", maxField,
			"port", "port_min", "direction", "direction", "protocol", "protocol"}}
}

func deleteRuleCall(r *http.Request, _ url.Values) apiCall {
	return apiCall{method: http.MethodDelete, path: "/api/v1/security-group-rules/" + url.PathEscape(r.PathValue("rule"))}
}

// createFloatingIPCall allocates a floating IP from an external network, associated at once when
// a port is picked.
func createFloatingIPCall(_ *http.Request, f url.Values) apiCall {
	return apiCall{http.MethodPost, "/api/v1/floating-ips",
		body("network", f.Get("network"), "port", f.Get("port")),
		[]string{"port", "port", "network", "network"}}
}

func associateCall(r *http.Request, f url.Values) apiCall {
	return apiCall{http.MethodPut, "/api/v1/floating-ips/" + url.PathEscape(r.PathValue("id")),
		map[string]any{"port": f.Get("port")}, []string{"port", "port"}}
}

func disassociateCall(r *http.Request, _ url.Values) apiCall {
	return apiCall{method: http.MethodPut, path: "/api/v1/floating-ips/" + url.PathEscape(r.PathValue("id")),
		in: map[string]any{"port": ""}} // "" disassociates
}

// createPortForwardCall forwards a host port to a port's address (an instance's interface).
func createPortForwardCall(_ *http.Request, f url.Values) apiCall {
	return apiCall{http.MethodPost, "/api/v1/port-forwards",
		body("port", f.Get("port"), "protocol", f.Get("protocol"),
			"host_port", number(f.Get("host_port")), "internal_port", number(f.Get("internal_port"))),
		[]string{"host port", "host_port", "host_port", "host_port", "internal", "internal_port",
			"protocol", "protocol", "port", "port"}}
}
