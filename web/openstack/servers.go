package openstack

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/web/client"
)

// Nova 2.1's servers at /compute/v2.1/servers: cloudlet's instances.
func (s *Server) registerServers() {
	const base = "/compute/v2.1/servers"
	s.handle(http.MethodGet, base, s.nova(s.listServers(false)))
	s.handle(http.MethodGet, base+"/detail", s.nova(s.listServers(true)))
	s.handle(http.MethodPost, base, s.nova(s.createServer))
	s.handle(http.MethodGet, base+"/{id}", s.nova(s.showServer))
	s.handle(http.MethodDelete, base+"/{id}", s.nova(s.deleteServer))
	s.handle(http.MethodPost, base+"/{id}/action", s.nova(s.serverAction))
	s.handle(http.MethodPost, base+"/{id}/remote-consoles", s.nova(s.remoteConsole))
	s.handle(http.MethodGet, base+"/{id}/ips", s.nova(s.serverIPs))
	s.handle(http.MethodGet, base+"/{id}/ips/{network}", s.nova(s.serverNetworkIPs))
	s.handle(http.MethodGet, base+"/{id}/metadata", s.nova(s.serverMetadata))
	s.handle(http.MethodGet, base+"/{id}/metadata/{key}", s.nova(s.serverMetadataItem))
	s.handle(http.MethodGet, base+"/{id}/os-volume_attachments", s.nova(s.listVolumeAttachments))
	s.handle(http.MethodPost, base+"/{id}/os-volume_attachments", s.nova(s.attachServerVolume))
	s.handle(http.MethodGet, base+"/{id}/os-volume_attachments/{volume}", s.nova(s.showVolumeAttachment))
	s.handle(http.MethodDelete, base+"/{id}/os-volume_attachments/{volume}", s.nova(s.detachServerVolume))
}

// findServer reads the server of the path's id. A name (which /api/v1 also accepts), an unknown id
// or another project's is Nova's 404: clients rely on it to fall back to a lookup by name.
func findServer(w http.ResponseWriter, r *http.Request, api *client.Client) (compute.Instance, bool) {
	id := r.PathValue("id")
	var inst compute.Instance
	err := api.Do(r.Context(), http.MethodGet, "/api/v1/instances/"+url.PathEscape(id), nil, &inst)
	if err != nil && !isNotFound(err) {
		writeAPIError(w, err)
		return inst, false
	}
	if err != nil || inst.ID != id {
		novaError(w, http.StatusNotFound, "Instance "+id+" could not be found.")
		return inst, false
	}
	return inst, true
}

// isNotFound reports whether err is /api/v1's 404.
func isNotFound(err error) bool {
	var ae *client.Error
	return errors.As(err, &ae) && ae.Code == http.StatusNotFound
}

// readServerContext reads what the views of servers need beside them: network names and floating
// IPs, and the volumes when withVolumes. A part the caller may not read is left out, not an error.
func readServerContext(r *http.Request, api *client.Client, withVolumes bool) serverContext {
	sc := serverContext{networkNames: map[string]string{}, floating: map[string][]string{}}
	var nets []network.Network
	if api.Do(r.Context(), http.MethodGet, "/api/v1/networks", nil, &nets) == nil {
		for _, n := range nets {
			sc.networkNames[n.ID] = n.Name
		}
	}
	var fips []network.FloatingIP
	if api.Do(r.Context(), http.MethodGet, "/api/v1/floating-ips", nil, &fips) == nil {
		for _, f := range fips {
			if f.PortID != "" {
				sc.floating[f.PortID] = append(sc.floating[f.PortID], f.IP.String())
			}
		}
	}
	if withVolumes {
		sc.volumes = []volume.Volume{}
		var vols []volume.Volume
		if api.Do(r.Context(), http.MethodGet, "/api/v1/volumes", nil, &vols) == nil {
			sc.volumes = vols
		}
	}
	return sc
}

// listServers serves GET /servers (brief) and /servers/detail, filtered by name (a regular
// expression searched for, as Nova's), status, image and flavor ids, and any other attribute the
// detailed view has.
func (s *Server) listServers(detail bool) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, api *client.Client) {
		var list []compute.Instance
		if err := api.Do(r.Context(), http.MethodGet, "/api/v1/instances", nil, &list); err != nil {
			writeAPIError(w, err)
			return
		}
		q := r.URL.Query()
		nameRe, err := regexp.Compile(q.Get("name"))
		if err != nil {
			nameRe = regexp.MustCompile(regexp.QuoteMeta(q.Get("name")))
		}
		var sc serverContext
		if detail || len(q) > 0 { // a brief list needs the detailed view only to filter on it
			sc = readServerContext(r, api, detail)
		}
		out := make([]map[string]any, 0, len(list))
		for _, inst := range list {
			if !nameRe.MatchString(inst.Name) || !matchesRef(q, "image", inst.ImageID) || !matchesRef(q, "flavor", inst.Flavor.ID) {
				continue
			}
			v := s.briefServer(r, inst)
			if detail || len(q) > 0 {
				full := s.serverView(r, inst, sc)
				if !matches(full, q, "name", "image", "flavor") {
					continue
				}
				if detail {
					v = full
				}
			}
			out = append(out, v)
		}
		writeJSON(w, http.StatusOK, map[string]any{"servers": out})
	}
}

// matchesRef reports whether id passes the query's filter key (absent: it does).
func matchesRef(q url.Values, key, id string) bool {
	return !q.Has(key) || q.Get(key) == id
}

// showServer serves GET /servers/{id}: the server in detail, with its attached volumes.
func (s *Server) showServer(w http.ResponseWriter, r *http.Request, api *client.Client) {
	inst, ok := findServer(w, r, api)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server": s.serverView(r, inst, readServerContext(r, api, true))})
}

// deleteServer serves DELETE /servers/{id}: 204 once cloudlet has begun the delete; the server then
// shows its state with task_state deleting until it is gone (404).
func (s *Server) deleteServer(w http.ResponseWriter, r *http.Request, api *client.Client) {
	inst, ok := findServer(w, r, api)
	if !ok {
		return
	}
	if err := api.Do(r.Context(), http.MethodDelete, "/api/v1/instances/"+inst.ID, nil, nil); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
