package openstack

import (
	"net/http"
	"slices"

	"cloudlet/images"
	"cloudlet/web/client"
)

// Glance's tag routes: one tag added to or removed from an image, as a PATCH of its tags in /api/v1.
func (s *Server) registerImageTags() {
	const tag = "/image/v2/images/{id}/tags/{tag}"
	s.handle(http.MethodPut, tag, s.withToken(s.addImageTag))
	s.handle(http.MethodDelete, tag, s.withToken(s.removeImageTag))
}

// addImageTag serves PUT /image/v2/images/{id}/tags/{tag}: 204, also when the image has it already.
func (s *Server) addImageTag(w http.ResponseWriter, r *http.Request, api *client.Client) {
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	tag := r.PathValue("tag")
	if slices.Contains(img.Tags, tag) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	setImageTags(w, r, api, img, append(slices.Clone(img.Tags), tag))
}

// removeImageTag serves DELETE /image/v2/images/{id}/tags/{tag}: 204, or 404 when the image lacks it.
func (s *Server) removeImageTag(w http.ResponseWriter, r *http.Request, api *client.Client) {
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	tag := r.PathValue("tag")
	if !slices.Contains(img.Tags, tag) {
		glanceError(w, http.StatusNotFound, "Tag "+tag+" not found on image "+img.ID)
		return
	}
	setImageTags(w, r, api, img, slices.DeleteFunc(slices.Clone(img.Tags), func(t string) bool { return t == tag }))
}

// setImageTags replaces img's tags in /api/v1 and answers 204.
func setImageTags(w http.ResponseWriter, r *http.Request, api *client.Client, img images.Image, tags []string) {
	if tags == nil {
		tags = []string{}
	}
	if err := api.Do(r.Context(), http.MethodPatch, "/api/v1/images/"+img.ID, map[string]any{"tags": tags}, nil); err != nil {
		glanceAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
