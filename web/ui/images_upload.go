package ui

import (
	"encoding/json"
	"net/http"
	"net/url"

	"cloudlet/images"
)

// ImageUploadPattern is the route the upload island PUTs an image's file to. Its body is streamed
// to the API's PUT /api/v1/images/{id}/file as it arrives, never held whole, so the API server
// gives this route the image upload's body cap, not the JSON one.
const ImageUploadPattern = "/images/{id}/file"

// uploadImageFile streams the request's body into the image through the API and answers the
// image's row (active, or killed with its fault); a refusal answers its status and message.
func (s *Server) uploadImageFile(w http.ResponseWriter, r *http.Request, sess *session) {
	resp, err := s.api(sess).SendRaw(r.Context(), http.MethodPut,
		"/api/v1/images/"+url.PathEscape(r.PathValue("id"))+"/file", r.Body, r.ContentLength)
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	defer resp.Body.Close()
	var img images.Image
	if err := json.NewDecoder(resp.Body).Decode(&img); err != nil {
		http.Error(w, "the upload's answer: "+err.Error(), http.StatusBadGateway)
		return
	}
	s.renderBlock(w, r, http.StatusOK, "images", "image-row-fragment", sess, imageRow{Image: img, Session: sess})
}
