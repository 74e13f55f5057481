package openstack

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"cloudlet/appliance/network"
	"cloudlet/web/client"
)

// Routers are read-only: cloudlet's NAT network routes out through the host itself, so each NAT
// network shows as one router (its id derived from the network's) with the network's subnet as its
// interface and, as external gateway, the external network floating IPs for its ports come from.
// Creating routers or interfaces has no cloudlet meaning: a network is made NAT when created.
func (s *Server) registerRouters() {
	s.handle(http.MethodGet, "/networking/v2.0/routers", s.withToken(s.listRouters))
	s.handle(http.MethodGet, "/networking/v2.0/routers/{id}", s.withToken(s.showRouter))
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		s.handle(m, "/networking/v2.0/routers", s.withToken(refuseRouterChange))
		s.handle(m, "/networking/v2.0/routers/{id}", s.withToken(refuseRouterChange))
	}
	s.handle(http.MethodPut, "/networking/v2.0/routers/{id}/add_router_interface", s.withToken(refuseRouterChange))
	s.handle(http.MethodPut, "/networking/v2.0/routers/{id}/remove_router_interface", s.withToken(refuseRouterChange))
}

// routerID is the id of a NAT network's router: stable, UUID-shaped.
func routerID(networkID string) string {
	sum := sha256.Sum256([]byte("cloudlet router " + networkID))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// routerView is NAT network n's router; ext is the external network on its uplink (nil: none).
func routerView(n network.Network, ext *network.Network) map[string]any {
	var gw any
	if ext != nil {
		gw = map[string]any{"network_id": ext.ID, "enable_snat": true, "external_fixed_ips": []any{}}
	}
	return with(stamps(recordMeta(n.Meta)), map[string]any{"id": routerID(n.ID), "status": "ACTIVE", "admin_state_up": true,
		"external_gateway_info": gw, "routes": []any{}, "description": "", "distributed": false, "ha": false,
		"availability_zone_hints": []string{}, "availability_zones": []string{}, "flavor_id": nil})
}

// routers are the routers of the caller's NAT networks.
func routers(r *http.Request, api *client.Client) ([]map[string]any, error) {
	list, err := readNetworks(r, api)
	views := []map[string]any{}
	for _, n := range list {
		if n.Kind != network.KindNAT {
			continue
		}
		var ext *network.Network
		for i, e := range list {
			if e.External && (n.Uplink == "" || n.Uplink == e.Uplink) {
				ext = &list[i]
				break
			}
		}
		views = append(views, routerView(n, ext))
	}
	return views, err
}

// listRouters answers the routers of the caller's NAT networks that pass the filters.
func (s *Server) listRouters(w http.ResponseWriter, r *http.Request, api *client.Client) {
	views, err := routers(r, api)
	if err != nil {
		neutronAPIError(w, err, routerErrs)
		return
	}
	writeList(w, "routers", views, r.URL.Query())
}

// showRouter answers one NAT network's router by its derived id.
func (s *Server) showRouter(w http.ResponseWriter, r *http.Request, api *client.Client) {
	views, err := routers(r, api)
	if err != nil {
		neutronAPIError(w, err, routerErrs)
		return
	}
	for _, v := range views {
		if v["id"] == r.PathValue("id") {
			writeJSON(w, http.StatusOK, map[string]any{"router": pick(v, r.URL.Query())})
			return
		}
	}
	notFound(w, routerErrs, "Router", r.PathValue("id"))
}

// refuseRouterChange answers a router change: cloudlet's routers follow its NAT networks.
func refuseRouterChange(w http.ResponseWriter, r *http.Request, _ *client.Client) {
	badRequest(w, "Routers are read-only here: each cloudlet NAT network routes out through the host and shows as "+
		"its own router; create a network (it is NAT) instead")
}
