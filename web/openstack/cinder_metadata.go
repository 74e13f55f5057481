package openstack

import (
	"maps"
	"net/http"

	"cloudlet/appliance/volume"
)

// A volume's metadata as its own resource (cinderclient's `volume set --property` posts to it,
// `volume unset --property` deletes a key): each change is PATCH /api/v1/volumes/{id} with the
// whole new set.
func (s *Server) registerCinderMetadata(mux *http.ServeMux) {
	cinderRoute(mux, http.MethodGet, "/volumes/{id}/metadata", s.showVolumeMetadata)
	cinderRoute(mux, http.MethodPost, "/volumes/{id}/metadata", s.changeVolumeMetadata(true))
	cinderRoute(mux, http.MethodPut, "/volumes/{id}/metadata", s.changeVolumeMetadata(false))
	cinderRoute(mux, http.MethodDelete, "/volumes/{id}/metadata/{key}", s.deleteVolumeMetadata)
}

// metadataOf is a volume's metadata, never nil.
func metadataOf(v volume.Volume) map[string]string {
	if v.Metadata == nil {
		return map[string]string{}
	}
	return v.Metadata
}

func (s *Server) showVolumeMetadata(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	if v, ok := findVolume(w, r, c); ok {
		writeJSON(w, http.StatusOK, map[string]any{"metadata": metadataOf(v)})
	}
}

// changeVolumeMetadata merges the body's items into the set (POST) or replaces the set (PUT), and
// answers the new set.
func (s *Server) changeVolumeMetadata(merge bool) cinderHandler {
	return func(w http.ResponseWriter, r *http.Request, c *cinderCall) {
		var body struct {
			Metadata map[string]string `json:"metadata"`
		}
		if err := decodeLenientBody(r, &body); err != nil || body.Metadata == nil {
			novaError(w, http.StatusBadRequest, "Malformed request body: want {\"metadata\": {…}}: "+describeBodyError(err))
			return
		}
		v, ok := findVolume(w, r, c)
		if !ok {
			return
		}
		next := body.Metadata
		if merge {
			next = maps.Clone(metadataOf(v))
			maps.Copy(next, body.Metadata)
		}
		if err := setVolumeMetadata(r, c, &v, next); err != nil {
			cinderAPIError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"metadata": metadataOf(v)})
	}
}

// deleteVolumeMetadata removes one key (404 when the volume has none such); Cinder answers 200.
func (s *Server) deleteVolumeMetadata(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	v, ok := findVolume(w, r, c)
	if !ok {
		return
	}
	key := r.PathValue("key")
	if _, has := v.Metadata[key]; !has {
		novaError(w, http.StatusNotFound, "Volume "+v.ID+" has no metadata with key "+key+".")
		return
	}
	next := maps.Clone(v.Metadata)
	delete(next, key)
	if err := setVolumeMetadata(r, c, &v, next); err != nil {
		cinderAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// setVolumeMetadata gives v the metadata set next (PATCH /api/v1/volumes/{id}) and reads it back into v.
func setVolumeMetadata(r *http.Request, c *cinderCall, v *volume.Volume, next map[string]string) error {
	*v = volume.Volume{}
	return c.api.Do(r.Context(), http.MethodPatch, "/api/v1/volumes/"+r.PathValue("id"), volume.UpdateRequest{Metadata: next}, v)
}
