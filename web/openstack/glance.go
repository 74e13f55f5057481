package openstack

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"cloudlet/images"
	"cloudlet/web/client"
)

// Glance v2 at /image/v2 (discovery.go serves /image): the images the caller's project may see.
func (s *Server) registerImage() {
	s.handle(http.MethodGet, "/image/v2/images", s.withToken(s.listImages))
	s.handle(http.MethodPost, "/image/v2/images", s.withToken(s.createImage))
	s.handle(http.MethodGet, "/image/v2/images/{id}", s.withToken(s.showImage))
	s.handle(http.MethodPatch, "/image/v2/images/{id}", s.withToken(s.patchImage))
	s.handle(http.MethodDelete, "/image/v2/images/{id}", s.withToken(s.deleteImage))
	s.handle(http.MethodPut, ImageFilePattern, s.withToken(s.uploadImageFile))
	s.handle(http.MethodGet, ImageFilePattern, s.withToken(s.downloadImageFile))
	s.registerImageMembers()
	s.registerImageTags()
	s.registerImageActions()
	s.registerImageImport()
}

// glanceAPIError writes a native API error in Glance's body, with its status.
func glanceAPIError(w http.ResponseWriter, err error) {
	status, msg := apiStatus(err)
	glanceError(w, status, msg)
}

// imageByID reads the image whose id is the request's {id}; a name (which /api/v1 also accepts),
// another project's image or none answers 404, as in Glance. ok is false once the error is written.
func imageByID(w http.ResponseWriter, r *http.Request, api *client.Client) (img images.Image, ok bool) {
	id := r.PathValue("id")
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/images/"+url.PathEscape(id), nil, &img); err != nil {
		glanceAPIError(w, err)
		return img, false
	}
	if img.ID != id {
		glanceError(w, http.StatusNotFound, "no image found with ID "+id)
		return img, false
	}
	return img, true
}

// glanceError writes Glance's error body.
func glanceError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{"code": status, "title": http.StatusText(status), "message": message})
}

// imageView is an image in Glance v2's flat shape. cloudlet keeps a SHA-256, so the md5 checksum is
// null and the hash is os_hash_value.
func (s *Server) imageView(img images.Image) map[string]any {
	v := map[string]any{"id": img.ID, "name": img.Name, "status": img.Status, "visibility": img.Visibility,
		"disk_format": img.DiskFormat, "container_format": img.ContainerFormat, "size": nullIfZero(img.Size),
		"virtual_size": nullIfZero(img.VirtualSize), "min_disk": img.MinDiskGiB, "min_ram": img.MinRAMMiB,
		"protected": img.Protected, "os_hidden": false, "tags": tagsOf(img), "owner": img.ProjectID,
		"checksum": nil, "os_hash_algo": nil, "os_hash_value": nil,
		"created_at": img.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
		"updated_at": img.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"),
		"self":       "/v2/images/" + img.ID, "file": "/v2/images/" + img.ID + "/file", "schema": "/v2/schemas/image"}
	if img.Checksum != "" {
		v["os_hash_algo"], v["os_hash_value"] = "sha256", img.Checksum
	}
	for k, p := range img.Properties {
		if _, taken := v[k]; !taken {
			v[k] = p
		}
	}
	return v
}

// tagsOf is the image's tags, [] for none.
func tagsOf(img images.Image) []string {
	if img.Tags == nil {
		return []string{}
	}
	return img.Tags
}

func nullIfZero(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// listImages lists the visible images, filtered as Glance filters (name, id, visibility, status,
// owner, "in:" lists; each tag= one the image has), paged by limit and marker. member_status picks
// the shared images by the caller's membership, as /api/v1 does (accepted by default).
func (s *Server) listImages(w http.ResponseWriter, r *http.Request, api *client.Client) {
	path := "/api/v1/images"
	if ms := r.URL.Query().Get("member_status"); ms != "" {
		path += "?member_status=" + url.QueryEscape(ms)
	}
	var list []images.Image
	if err := api.Do(r.Context(), http.MethodGet, path, nil, &list); err != nil {
		status, msg := apiStatus(err)
		glanceError(w, status, msg)
		return
	}
	q := r.URL.Query()
	out := []map[string]any{}
	for _, img := range list {
		if v := s.imageView(img); matches(v, q, "limit", "marker") && hasTags(img, q["tag"]) {
			out = append(out, v)
		}
	}
	page, next := pageAfter(out, q)
	body := map[string]any{"images": page, "schema": "/v2/schemas/images", "first": "/v2/images"}
	if next != "" {
		nq := url.Values{}
		for k, vs := range q {
			nq[k] = vs
		}
		nq.Set("marker", next)
		body["next"] = "/v2/images?" + nq.Encode()
	}
	writeJSON(w, http.StatusOK, body)
}

// hasTags reports whether img has every tag of a list's tag filters.
func hasTags(img images.Image, tags []string) bool {
	for _, t := range tags {
		if !slices.Contains(img.Tags, t) {
			return false
		}
	}
	return true
}

// pageAfter cuts items after the marker's item to limit; next is the marker of the page after, or "".
func pageAfter(items []map[string]any, q url.Values) ([]map[string]any, string) {
	if m := q.Get("marker"); m != "" {
		for i, it := range items {
			if it["id"] == m {
				items = items[i+1:]
				break
			}
		}
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 || limit >= len(items) {
		return items, ""
	}
	return items[:limit], text(items[limit-1]["id"])
}

// showImage reads one image by id; a name (which /api/v1 also accepts) is 404, as in Glance.
func (s *Server) showImage(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if img, ok := imageByID(w, r, api); ok {
		writeJSON(w, http.StatusOK, s.imageView(img))
	}
}
