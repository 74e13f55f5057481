package ui

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/volume"
)

// registerVolumes registers the volumes pages' routes.
func (s *Server) registerVolumes() {
	s.handle(http.MethodGet, "/volumes", s.withSession(s.volumesPage))
	s.handle(http.MethodPost, "/volumes", s.withSession(s.createVolume))
	s.handle(http.MethodPost, "/volumes/accept-transfer", s.withSession(s.acceptTransfer))
	s.handle(http.MethodGet, "/volumes/{id}", s.withSession(s.volumePage))
	s.handle(http.MethodPost, "/volumes/{id}/{action}", s.withSession(s.volumeAction))
	s.handle(http.MethodGet, "/snapshots", s.withSession(s.snapshotsPage))
	s.handle(http.MethodPost, "/snapshots/{id}/delete", s.withSession(s.deleteSnapshot))
}

// volumesData is the volumes page: the project's volumes and what a new one can be made from.
type volumesData struct {
	pageErrors // for its Confirm (admin.go)
	Volumes    []volume.Volume
	Instances  map[string]string // instance names by ID, for "attached to"
	Images     []ref
	Snapshots  []volume.Snapshot
	Pools      []volume.Pool // only for those who may list pools (admins)
	Form       *sentForm     // "create" or "accept" after a refusal
}

func (s *Server) volumesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.showVolumes(w, r, sess, http.StatusOK, nil)
}

func (s *Server) showVolumes(w http.ResponseWriter, r *http.Request, sess *session, status int, form *sentForm) {
	d := volumesData{Form: form}
	var instances []ref
	err := s.fetchAll(r, sess,
		read{path: "/api/v1/volumes", out: &d.Volumes},
		read{path: "/api/v1/instances", out: &instances, skip: !sess.Can("instance:list")},
		read{path: "/api/v1/images", out: &d.Images, skip: !sess.Can("volume:create")},
		read{path: "/api/v1/snapshots", out: &d.Snapshots, skip: !sess.Can("volume:create")},
		read{path: "/api/v1/pools", out: &d.Pools, skip: !sess.Can("volume:create") || !sess.Can("pool:list")})
	if err != nil {
		s.pageError(w, err)
		return
	}
	d.Instances = names(instances)
	s.render(w, r, status, "volumes", sess, d)
}

// createVolume asks the API for a volume: empty, or from an image or a snapshot.
func (s *Server) createVolume(w http.ResponseWriter, r *http.Request, sess *session) {
	f := postForm(r)
	in := body("name", f.Get("name"), "size_gib", number(f.Get("size_gib")), "pool", f.Get("pool"))
	switch f.Get("source") {
	case "image":
		in["image"] = f.Get("image")
	case "snapshot":
		in["snapshot"] = f.Get("snapshot")
	}
	var v volume.Volume
	if err := s.api(sess).Do(r.Context(), http.MethodPost, "/api/v1/volumes", in, &v); err != nil {
		form := failedForm("create", r, err, "size", "size_gib", "snapshot", "snapshot", "image", "image",
			"pool", "pool", "name", "name")
		s.showVolumes(w, r, sess, formStatus(err), form)
		return
	}
	http.Redirect(w, r, "/volumes/"+url.PathEscape(v.ID), http.StatusSeeOther)
}

// acceptTransfer takes a volume another project offered, with the transfer's ID and secret.
func (s *Server) acceptTransfer(w http.ResponseWriter, r *http.Request, sess *session) {
	f := postForm(r)
	var v volume.Volume
	path := "/api/v1/volume-transfers/" + url.PathEscape(f.Get("transfer_id")) + "/accept"
	if err := s.api(sess).Do(r.Context(), http.MethodPost, path, body("auth_key", f.Get("auth_key")), &v); err != nil {
		s.showVolumes(w, r, sess, formStatus(err), failedForm("accept", r, err, "auth", "auth_key", "transfer", "transfer_id"))
		return
	}
	http.Redirect(w, r, "/volumes/"+url.PathEscape(v.ID), http.StatusSeeOther)
}
