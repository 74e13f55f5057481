package openstack

import (
	"encoding/json"
	"net/http"

	"cloudlet/web/client"
)

// Glance's interoperable image import: cloudlet offers web-download only, as its guarded URL import
// (only http and https, never to loopback, link-local or the host's own addresses).
func (s *Server) registerImageImport() {
	s.handle(http.MethodGet, "/image/v2/info/import", s.withToken(s.importInfo))
	s.handle(http.MethodPost, "/image/v2/images/{id}/import", s.withToken(s.importImage))
}

// importInfo serves GET /image/v2/info/import: the import methods offered.
func (s *Server) importInfo(w http.ResponseWriter, r *http.Request, _ *client.Client) {
	writeJSON(w, http.StatusOK, map[string]any{"import-methods": map[string]any{
		"description": "Import methods available.", "type": "array", "value": []string{"web-download"}}})
}

// importRequest is POST /image/v2/images/{id}/import's body.
type importRequest struct {
	Method struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	} `json:"method"`
}

// importImage serves POST /image/v2/images/{id}/import {"method":{"name":"web-download","uri":…}}:
// 202, and the queued image downloads in the background (active, or killed with the reason in
// cloudlet's record). Any other method is 400.
func (s *Server) importImage(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var in importRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		glanceError(w, http.StatusBadRequest, `the body must be {"method":{"name":"web-download","uri":…}}`)
		return
	}
	if in.Method.Name != "web-download" {
		glanceError(w, http.StatusBadRequest, "Import method "+in.Method.Name+" is not supported: cloudlet offers web-download")
		return
	}
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/images/"+img.ID+"/import",
		map[string]string{"url": in.Method.URI}, nil); err != nil {
		glanceAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// registerImageActions answers Glance's deactivate and reactivate: cloudlet has no deactivated
// state (an image is usable or being deleted), so both are 404 with a message, as for an unknown
// action, rather than a success that changes nothing.
func (s *Server) registerImageActions() {
	refuse := func(w http.ResponseWriter, r *http.Request, api *client.Client) {
		if _, ok := imageByID(w, r, api); ok {
			glanceError(w, http.StatusNotFound, "cloudlet images cannot be deactivated: "+r.PathValue("action")+" is not offered")
		}
	}
	s.handle(http.MethodPost, "/image/v2/images/{id}/actions/{action}", s.withToken(refuse))
}
