package openstack

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// flavorView is a flavor in Nova 2.1's shape; brief lists carry only id, name and links.
func (s *Server) flavorView(r *http.Request, f compute.Flavor, detail bool) map[string]any {
	v := map[string]any{"id": f.ID, "name": f.Name,
		"links": []map[string]string{{"rel": "self", "href": s.baseURL(r) + "/compute/v2.1/flavors/" + f.ID},
			{"rel": "bookmark", "href": s.baseURL(r) + "/compute/flavors/" + f.ID}}}
	if !detail {
		return v
	}
	var swap any = ""
	if f.SwapMiB > 0 {
		swap = f.SwapMiB
	}
	v["ram"], v["vcpus"], v["disk"], v["swap"] = f.RAMMiB, f.VCPUs, f.DiskGiB, swap
	v["OS-FLV-EXT-DATA:ephemeral"], v["OS-FLV-DISABLED:disabled"] = f.EphemeralGiB, false
	v["os-flavor-access:is_public"], v["rxtx_factor"] = f.Public, 1.0
	return v
}

func (s *Server) listFlavors(detail bool) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, api *client.Client) {
		var list []compute.Flavor
		if err := api.Do(r.Context(), http.MethodGet, "/api/v1/flavors", nil, &list); err != nil {
			writeAPIError(w, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for _, f := range list {
			out = append(out, s.flavorView(r, f, detail))
		}
		writeJSON(w, http.StatusOK, map[string]any{"flavors": out})
	}
}

// findFlavor reads flavor id; a name (which /api/v1 also accepts) is 404 here, as in Nova: clients
// rely on that to fall back to a lookup by name.
func findFlavor(w http.ResponseWriter, r *http.Request, api *client.Client) (compute.Flavor, bool) {
	id := r.PathValue("id")
	var f compute.Flavor
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/flavors/"+url.PathEscape(id), nil, &f); err != nil {
		writeAPIError(w, err)
		return f, false
	}
	if f.ID != id {
		novaError(w, http.StatusNotFound, "Flavor "+id+" could not be found.")
		return f, false
	}
	return f, true
}

func (s *Server) showFlavor(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if f, ok := findFlavor(w, r, api); ok {
		writeJSON(w, http.StatusOK, map[string]any{"flavor": s.flavorView(r, f, true)})
	}
}

func (s *Server) flavorExtraSpecs(w http.ResponseWriter, r *http.Request, api *client.Client) {
	f, ok := findFlavor(w, r, api)
	if !ok {
		return
	}
	specs := f.ExtraSpecs
	if specs == nil {
		specs = map[string]string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"extra_specs": specs})
}
