package openstack

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

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

// listFlavors lists the flavors the caller may see in Nova's order (by id), filtered by minDisk and
// minRam and paged by marker and limit, with a next link in flavors_links while more remain.
func (s *Server) listFlavors(detail bool) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, api *client.Client) {
		var list []compute.Flavor
		if err := api.Do(r.Context(), http.MethodGet, "/api/v1/flavors", nil, &list); err != nil {
			writeAPIError(w, err)
			return
		}
		page, more, err := flavorPage(list, r.URL.Query())
		if err != nil {
			novaError(w, http.StatusBadRequest, err.Error())
			return
		}
		out := make([]map[string]any, 0, len(page))
		for _, f := range page {
			out = append(out, s.flavorView(r, f, detail))
		}
		body := map[string]any{"flavors": out}
		if more {
			next := url.Values{"marker": {page[len(page)-1].ID}, "limit": {r.URL.Query().Get("limit")}}
			body["flavors_links"] = []map[string]string{{"rel": "next", "href": s.baseURL(r) + r.URL.Path + "?" + next.Encode()}}
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// flavorPage applies Nova's flavor list query (minDisk, minRam, marker, limit) to list: the page,
// whether more follow it, or the error a bad value is (Nova answers 400).
func flavorPage(list []compute.Flavor, q url.Values) ([]compute.Flavor, bool, error) {
	minDisk, err1 := queryInt(q, "minDisk", 0)
	minRAM, err2 := queryInt(q, "minRam", 0)
	limit, err3 := queryInt(q, "limit", len(list))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, false, err
	}
	slices.SortFunc(list, func(a, b compute.Flavor) int { return strings.Compare(a.ID, b.ID) })
	if marker := q.Get("marker"); marker != "" {
		i := slices.IndexFunc(list, func(f compute.Flavor) bool { return f.ID == marker })
		if i < 0 {
			return nil, false, fmt.Errorf("marker [%s] not found", marker)
		}
		list = list[i+1:]
	}
	list = slices.DeleteFunc(list, func(f compute.Flavor) bool { return f.DiskGiB < minDisk || f.RAMMiB < minRAM })
	if limit > 0 && len(list) > limit { // Nova reads limit 0 as no limit
		return list[:limit], true, nil
	}
	return list, false, nil
}

// queryInt reads a non-negative integer query parameter, def when absent.
func queryInt(q url.Values, key string, def int) (int, error) {
	v := q.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid %s filter [%s]: want a non-negative integer", key, v)
	}
	return n, nil
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
