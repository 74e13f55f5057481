package openstack

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"cloudlet/images"
	"cloudlet/web/client"
)

// ImageFilePattern is Glance's route of an image's data. Its uploads stream to /api/v1 as they
// arrive, never held whole, so the API server gives this route the image upload's body cap.
const ImageFilePattern = "/image/v2/images/{id}/file"

// uploadImageFile serves PUT /image/v2/images/{id}/file: the body streams into the queued image
// through /api/v1's upload, which inspects it; 204 once the image is active. Data cloudlet
// refuses is its 400 (the image is then killed, with the reason in its record).
func (s *Server) uploadImageFile(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/octet-stream" {
			glanceError(w, http.StatusUnsupportedMediaType, "the image data must be sent as application/octet-stream, not "+ct)
			return
		}
	}
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	resp, err := api.SendRaw(r.Context(), http.MethodPut, "/api/v1/images/"+img.ID+"/file", r.Body, r.ContentLength)
	if err != nil {
		glanceAPIError(w, err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	w.WriteHeader(http.StatusNoContent)
}

// downloadImageFile serves GET /image/v2/images/{id}/file: an active image's data streamed from
// /api/v1 with its length; 204 when the image has no data yet, as Glance answers. cloudlet keeps
// a sha256, not an md5, so there is no Content-MD5.
func (s *Server) downloadImageFile(w http.ResponseWriter, r *http.Request, api *client.Client) {
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	if img.Status == images.StatusQueued {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	resp, err := api.SendRaw(r.Context(), http.MethodGet, "/api/v1/images/"+img.ID+"/file", nil, 0)
	if err != nil {
		glanceAPIError(w, err)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	if n := resp.Header.Get("Content-Length"); n != "" {
		w.Header().Set("Content-Length", n)
	} else if img.Size > 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(img.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, resp.Body)
}
