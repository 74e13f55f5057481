package ui

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/volume"
)

// volumeData is a volume's page: the volume, its snapshots, the instances it can be attached to,
// and once, right after it was created, a transfer's secret.
type volumeData struct {
	pageErrors // for its Confirm (admin.go)
	Volume     volume.Volume
	Snapshots  []volume.Snapshot
	Instances  []ref
	Attached   string // the name of the instance it is attached to
	Form       *sentForm
	Transfer   *transferCreated
}

// transferCreated is the API's answer to a new transfer: the only time the secret is shown.
type transferCreated struct {
	ID      string `json:"transfer_id"`
	AuthKey string `json:"auth_key"`
}

func (s *Server) volumePage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.showVolume(w, r, sess, http.StatusOK, &volumeData{})
}

// showVolume renders the volume's page around d (a refused form, a new transfer).
func (s *Server) showVolume(w http.ResponseWriter, r *http.Request, sess *session, status int, d *volumeData) {
	id := url.PathEscape(r.PathValue("id"))
	err := s.fetchAll(r, sess,
		read{path: "/api/v1/volumes/" + id, out: &d.Volume},
		read{path: "/api/v1/volumes/" + id + "/snapshots", out: &d.Snapshots, skip: !sess.Can("snapshot:list")},
		read{path: "/api/v1/instances", out: &d.Instances, skip: !sess.Can("instance:list")})
	if err != nil {
		s.pageError(w, err)
		return
	}
	if a := d.Volume.Attachment; a != nil {
		d.Attached = names(d.Instances)[a.InstanceID]
	}
	s.render(w, r, status, "volumes_detail", sess, d)
}

// volumeCall is the API request behind the volume page's form action, false for an unknown action.
func volumeCall(id, action string, f url.Values) (apiCall, bool) {
	vol := "/api/v1/volumes/" + url.PathEscape(id)
	switch action {
	case "attach":
		return apiCall{http.MethodPost, vol + "/attach", body("instance", f.Get("instance")), []string{"instance", "instance"}}, true
	case "detach":
		return apiCall{http.MethodPost, vol + "/detach", nil, nil}, true
	case "extend":
		return apiCall{http.MethodPost, vol + "/extend", body("size_gib", number(f.Get("size_gib"))), []string{"size", "size_gib"}}, true
	case "snapshot":
		return apiCall{http.MethodPost, vol + "/snapshots", body("name", f.Get("name")), []string{"name", "name"}}, true
	case "revert":
		return apiCall{http.MethodPost, vol + "/revert", body("snapshot", f.Get("snapshot")), nil}, true
	case "cancel-transfer":
		return apiCall{http.MethodDelete, "/api/v1/volume-transfers/" + url.PathEscape(f.Get("transfer_id")), nil, nil}, true
	case "delete":
		return apiCall{http.MethodDelete, vol, nil, nil}, true
	}
	return apiCall{}, false
}

// volumeAction runs a form of the volume's page, then shows the volume (or the list, after a
// delete). A transfer answers with its secret instead.
func (s *Server) volumeAction(w http.ResponseWriter, r *http.Request, sess *session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	f := postForm(r)
	if action == "transfer" {
		s.createTransfer(w, r, sess, id)
		return
	}
	call, ok := volumeCall(id, action, f)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if err := s.api(sess).Do(r.Context(), call.method, call.path, call.in, nil); err != nil {
		s.showVolume(w, r, sess, formStatus(err), &volumeData{Form: failedForm(action, r, err, call.hints...)})
		return
	}
	next := "/volumes/" + url.PathEscape(id)
	if action == "delete" {
		next = "/volumes"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// createTransfer offers the volume to another project and shows the transfer's ID and secret on
// the volume's page, this once: the API keeps only the secret's hash.
func (s *Server) createTransfer(w http.ResponseWriter, r *http.Request, sess *session, id string) {
	var t transferCreated
	path := "/api/v1/volumes/" + url.PathEscape(id) + "/transfer"
	if err := s.api(sess).Do(r.Context(), http.MethodPost, path, map[string]any{}, &t); err != nil {
		s.showVolume(w, r, sess, formStatus(err), &volumeData{Form: failedForm("transfer", r, err)})
		return
	}
	s.showVolume(w, r, sess, http.StatusCreated, &volumeData{Transfer: &t})
}

// snapshotsData is the snapshots page: every snapshot of the project with its volume's name.
type snapshotsData struct {
	pageErrors // for its Confirm (admin.go)
	Snapshots  []volume.Snapshot
	Volumes    map[string]string
	Form       *sentForm
}

func (s *Server) snapshotsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.showSnapshots(w, r, sess, http.StatusOK, nil)
}

func (s *Server) showSnapshots(w http.ResponseWriter, r *http.Request, sess *session, status int, form *sentForm) {
	d := snapshotsData{Form: form}
	var vols []ref
	err := s.fetchAll(r, sess,
		read{path: "/api/v1/snapshots", out: &d.Snapshots},
		read{path: "/api/v1/volumes", out: &vols, skip: !sess.Can("volume:list")})
	if err != nil {
		s.pageError(w, err)
		return
	}
	d.Volumes = names(vols)
	s.render(w, r, status, "snapshots", sess, d)
}

// deleteSnapshot deletes a snapshot, then returns to the page it was deleted from.
func (s *Server) deleteSnapshot(w http.ResponseWriter, r *http.Request, sess *session) {
	f := postForm(r)
	err := s.api(sess).Do(r.Context(), http.MethodDelete, "/api/v1/snapshots/"+url.PathEscape(r.PathValue("id")), nil, nil)
	if err != nil {
		s.showSnapshots(w, r, sess, formStatus(err), failedForm("row", r, err))
		return
	}
	http.Redirect(w, r, localPath(f.Get("next")), http.StatusSeeOther)
}
