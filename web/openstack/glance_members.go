package openstack

import (
	"encoding/json"
	"net/http"
	"net/url"

	"cloudlet/images"
	"cloudlet/web/client"
)

// Image members: Glance's member is a project, with cloudlet's sharing and its statuses (pending
// until the recipient accepts or rejects). The owner sees every member, a recipient only itself.
func (s *Server) registerImageMembers() {
	const members = "/image/v2/images/{id}/members"
	s.handle(http.MethodGet, members, s.withToken(s.listImageMembers))
	s.handle(http.MethodPost, members, s.withToken(s.addImageMember))
	s.handle(http.MethodGet, members+"/{member}", s.withToken(s.showImageMember))
	s.handle(http.MethodPut, members+"/{member}", s.withToken(s.updateImageMember))
	s.handle(http.MethodDelete, members+"/{member}", s.withToken(s.removeImageMember))
}

// nativeMember is one membership as /api/v1's members routes answer it.
type nativeMember struct {
	ImageID   string `json:"image_id"`
	ProjectID string `json:"project_id"`
	Status    string `json:"status"`
}

// memberView is a membership in Glance's shape; cloudlet keeps no member times, so they are the image's.
func memberView(img images.Image, m nativeMember) map[string]any {
	return map[string]any{"image_id": img.ID, "member_id": m.ProjectID, "status": m.Status,
		"created_at": img.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
		"updated_at": img.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"), "schema": "/v2/schemas/member"}
}

// members reads the image's memberships the caller may see.
func members(w http.ResponseWriter, r *http.Request, api *client.Client, img images.Image) ([]nativeMember, bool) {
	var list []nativeMember
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/images/"+img.ID+"/members", nil, &list); err != nil {
		glanceAPIError(w, err)
		return nil, false
	}
	return list, true
}

// listImageMembers serves GET /image/v2/images/{id}/members.
func (s *Server) listImageMembers(w http.ResponseWriter, r *http.Request, api *client.Client) {
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	list, ok := members(w, r, api, img)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, m := range list {
		out = append(out, memberView(img, m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": out, "schema": "/v2/schemas/members"})
}

// showImageMember serves GET /image/v2/images/{id}/members/{member}: 404 unless it is a member the
// caller may see.
func (s *Server) showImageMember(w http.ResponseWriter, r *http.Request, api *client.Client) {
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	list, ok := members(w, r, api, img)
	if !ok {
		return
	}
	for _, m := range list {
		if m.ProjectID == r.PathValue("member") {
			writeJSON(w, http.StatusOK, memberView(img, m))
			return
		}
	}
	glanceError(w, http.StatusNotFound, "project "+r.PathValue("member")+" is not a member of image "+img.ID)
}

// addImageMember serves POST /image/v2/images/{id}/members {"member": project id}: the image is
// shared with it, pending its accept. A member is a project's ID; a name is 404, as for any id.
func (s *Server) addImageMember(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var in struct {
		Member string `json:"member"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Member == "" {
		glanceError(w, http.StatusBadRequest, `the body must be {"member": "<project id>"}`)
		return
	}
	if !isID(in.Member) {
		glanceError(w, http.StatusNotFound, "no project with ID "+in.Member)
		return
	}
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	var shared images.Image
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/images/"+img.ID+"/members",
		map[string]string{"project": in.Member}, &shared); err != nil {
		if status, msg := apiStatus(err); status == http.StatusConflict && img.Visibility == images.VisibilityPublic {
			glanceError(w, http.StatusForbidden, msg) // cloudlet's 409 for a public image is Glance's 403
			return
		}
		glanceAPIError(w, err)
		return
	}
	for _, m := range shared.Members {
		if m.ProjectID == in.Member {
			writeJSON(w, http.StatusOK, memberView(img, nativeMember{ImageID: img.ID, ProjectID: m.ProjectID, Status: m.Status}))
			return
		}
	}
	glanceError(w, http.StatusNotFound, "no project with ID "+in.Member)
}

// updateImageMember serves PUT /image/v2/images/{id}/members/{member} {"status": …}: the recipient
// accepts, rejects or sets back to pending.
func (s *Server) updateImageMember(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var in struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Status == "" {
		glanceError(w, http.StatusBadRequest, `the body must be {"status": "accepted"|"rejected"|"pending"}`)
		return
	}
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	var m nativeMember
	if err := api.Do(r.Context(), http.MethodPut, "/api/v1/images/"+img.ID+"/members/"+url.PathEscape(r.PathValue("member")),
		in, &m); err != nil {
		glanceAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, memberView(img, m))
}

// removeImageMember serves DELETE /image/v2/images/{id}/members/{member}: 204.
func (s *Server) removeImageMember(w http.ResponseWriter, r *http.Request, api *client.Client) {
	img, ok := imageByID(w, r, api)
	if !ok {
		return
	}
	if err := api.Do(r.Context(), http.MethodDelete, "/api/v1/images/"+img.ID+"/members/"+url.PathEscape(r.PathValue("member")),
		nil, nil); err != nil {
		glanceAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
