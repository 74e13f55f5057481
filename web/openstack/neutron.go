package openstack

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"

	"cloudlet/appliance/network"
	"cloudlet/web/client"
)

// Neutron 2.0 at /networking/v2.0 (discovery.go serves /networking): cloudlet's networks, each with
// its one subnet, which Neutron shows as a subnet resource of its own.
func (s *Server) registerNetwork() {
	s.handle(http.MethodGet, "/networking/v2.0/{$}", s.networkResources)
	s.handle(http.MethodGet, "/networking/v2.0/networks", s.withToken(s.listNetworks))
	s.handle(http.MethodGet, "/networking/v2.0/networks/{id}", s.withToken(s.showNetwork))
	s.handle(http.MethodGet, "/networking/v2.0/subnets", s.withToken(s.listSubnets))
	s.handle(http.MethodGet, "/networking/v2.0/subnets/{id}", s.withToken(s.showSubnet))
}

// neutronError writes Neutron's error body, {"NeutronError":{"type","message","detail"}}.
func neutronError(w http.ResponseWriter, status int, typ, message string) {
	writeJSON(w, status, map[string]any{"NeutronError": map[string]any{"type": typ, "message": message, "detail": ""}})
}

func (s *Server) networkResources(w http.ResponseWriter, r *http.Request) {
	var res []map[string]any
	for _, name := range []string{"network", "subnet"} {
		res = append(res, map[string]any{"name": name, "collection": name + "s",
			"links": selfLink(s.baseURL(r) + "/networking/v2.0/" + name + "s")})
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": res})
}

// subnetID is the id Neutron shows for a network's subnet: stable, UUID-shaped, derived from the
// network's id.
func subnetID(networkID string) string {
	sum := sha256.Sum256([]byte("cloudlet subnet " + networkID))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// networkView is a network in Neutron's shape (every list field present: OSC iterates them).
func networkView(n network.Network) map[string]any {
	return map[string]any{"id": n.ID, "name": n.Name, "status": "ACTIVE", "admin_state_up": true, "shared": n.Shared,
		"subnets": []string{subnetID(n.ID)}, "project_id": n.ProjectID, "tenant_id": n.ProjectID,
		"router:external": n.External, "mtu": n.MTU, "port_security_enabled": true, "tags": []string{},
		"description": "", "availability_zone_hints": []string{}, "availability_zones": []string{},
		"created_at": n.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
		"updated_at": n.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"), "revision_number": n.Revision}
}

// subnetView is a network's subnet in Neutron's shape.
func subnetView(n network.Network) map[string]any {
	sn := n.Subnet
	pools := make([]map[string]string, 0, len(sn.Pools))
	for _, p := range sn.Pools {
		pools = append(pools, map[string]string{"start": p.Start.String(), "end": p.End.String()})
	}
	dns := make([]string, 0, len(sn.DNS))
	for _, a := range sn.DNS {
		dns = append(dns, a.String())
	}
	var gw any
	if sn.Gateway.IsValid() {
		gw = sn.Gateway.String()
	}
	return map[string]any{"id": subnetID(n.ID), "name": n.Name, "network_id": n.ID, "ip_version": 4,
		"cidr": sn.CIDR.String(), "gateway_ip": gw, "enable_dhcp": sn.DHCP, "allocation_pools": pools,
		"dns_nameservers": dns, "host_routes": []any{}, "project_id": n.ProjectID, "tenant_id": n.ProjectID,
		"description": "", "tags": []string{}, "ipv6_address_mode": nil, "ipv6_ra_mode": nil, "subnetpool_id": nil,
		"service_types": []string{}, "revision_number": n.Revision,
		"created_at": n.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
		"updated_at": n.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")}
}

// networks reads the caller's networks; false after writing the error.
func networks(w http.ResponseWriter, r *http.Request, api *client.Client) ([]network.Network, bool) {
	var list []network.Network
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/networks", nil, &list); err != nil {
		status, msg := apiStatus(err)
		neutronError(w, status, "HTTPError", msg)
		return nil, false
	}
	return list, true
}

// listOf renders the networks with view and keeps those the query's filters pass.
func listOf(list []network.Network, view func(network.Network) map[string]any, q url.Values) []map[string]any {
	out := []map[string]any{}
	for _, n := range list {
		if v := view(n); matches(v, q) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if list, ok := networks(w, r, api); ok {
		writeJSON(w, http.StatusOK, map[string]any{"networks": listOf(list, networkView, r.URL.Query())})
	}
}

func (s *Server) listSubnets(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if list, ok := networks(w, r, api); ok {
		writeJSON(w, http.StatusOK, map[string]any{"subnets": listOf(list, subnetView, r.URL.Query())})
	}
}

// showNetwork reads one network by id; a name is 404 (NetworkNotFound), as in Neutron.
func (s *Server) showNetwork(w http.ResponseWriter, r *http.Request, api *client.Client) {
	id := r.PathValue("id")
	if list, ok := networks(w, r, api); ok {
		for _, n := range list {
			if n.ID == id {
				writeJSON(w, http.StatusOK, map[string]any{"network": networkView(n)})
				return
			}
		}
		neutronError(w, http.StatusNotFound, "NetworkNotFound", "Network "+id+" could not be found.")
	}
}

func (s *Server) showSubnet(w http.ResponseWriter, r *http.Request, api *client.Client) {
	id := r.PathValue("id")
	if list, ok := networks(w, r, api); ok {
		for _, n := range list {
			if subnetID(n.ID) == id {
				writeJSON(w, http.StatusOK, map[string]any{"subnet": subnetView(n)})
				return
			}
		}
		neutronError(w, http.StatusNotFound, "SubnetNotFound", "Subnet "+id+" could not be found.")
	}
}
