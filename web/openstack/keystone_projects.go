package openstack

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/identity"
	"cloudlet/web/client"
)

// Keystone's project reads, which clients use to turn a project's name or id into its id (the
// openstack CLI's `image add project`): what /api/v1 lets the caller read, so a member reads its
// own project and gets 403 for the list, on which the CLI takes the value it was given as the id.
func (s *Server) registerProjects() {
	s.handle(http.MethodGet, "/identity/v3/projects", s.withToken(s.listProjects))
	s.handle(http.MethodGet, "/identity/v3/projects/{id}", s.withToken(s.showProject))
}

// projectView is a project in Keystone's shape.
func (s *Server) projectView(r *http.Request, p identity.Project) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "domain_id": defaultDomain, "enabled": p.Enabled,
		"description": p.Description, "is_domain": false, "parent_id": defaultDomain, "tags": []string{},
		"links": map[string]string{"self": s.baseURL(r) + "/identity/v3/projects/" + p.ID}}
}

// listProjects serves GET /identity/v3/projects[?name=…]: filters filter.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var projects []identity.Project
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/projects", nil, &projects); err != nil {
		status, msg := apiStatus(err)
		keystoneError(w, status, msg)
		return
	}
	out := []map[string]any{}
	for _, p := range projects {
		if v := s.projectView(r, p); matches(v, r.URL.Query()) {
			out = append(out, v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out, "links": map[string]any{"self": s.baseURL(r) + r.URL.Path,
		"next": nil, "previous": nil}})
}

// showProject serves GET /identity/v3/projects/{id}; a name is 404, as for every id.
func (s *Server) showProject(w http.ResponseWriter, r *http.Request, api *client.Client) {
	id := r.PathValue("id")
	var p identity.Project
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/projects/"+url.PathEscape(id), nil, &p); err != nil {
		status, msg := apiStatus(err)
		keystoneError(w, status, msg)
		return
	}
	if p.ID != id {
		keystoneError(w, http.StatusNotFound, "Could not find project: "+id+".")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"project": s.projectView(r, p)})
}
