package ui

import (
	"io"
	"net/http"

	"cloudlet/appliance/compute"
	"cloudlet/images"
)

// instanceRow is one row of the instances list: the instance, its image's name, and what the
// session may do to it. Error is the message of an action that just failed on it.
type instanceRow struct {
	compute.Instance
	ImageName string
	Error     string
	Sess      *session
}

// listPage is the instances list's data.
type listPage struct {
	Rows  []instanceRow
	Error string
}

// State is the word the row shows and data-state carries.
func (r instanceRow) State() string { return string(r.VMState) }

// Actions are the actions the instance's state allows and the session's role permits, in the
// order the row shows them.
func (r instanceRow) Actions() []instanceAction {
	var out []instanceAction
	for _, a := range instanceActions() {
		if a.allowed(r.VMState) && r.Sess.Can(a.Policy) {
			out = append(out, a)
		}
	}
	return out
}

// Screenshot reports whether the row shows a thumbnail of the screen: a running instance, and a
// role that may see it.
func (r instanceRow) Screenshot() bool {
	return r.VMState == compute.VMActive && r.Sess.Can("instance:screenshot")
}

func (s *Server) instanceList(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, http.StatusOK, "instances", sess, s.listData(r, sess))
}

// instanceTable serves the table alone: the list refetches it when an instance is created or deleted.
func (s *Server) instanceTable(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderBlock(w, r, http.StatusOK, "instances", "instance-table", sess, s.listData(r, sess))
}

func (s *Server) listData(r *http.Request, sess *session) listPage {
	var list []compute.Instance
	if err := s.api(sess).Do(r.Context(), http.MethodGet, "/api/v1/instances", nil, &list); err != nil {
		return listPage{Error: errorMessage(err)}
	}
	names := s.imageNames(r.Context(), sess)
	rows := make([]instanceRow, 0, len(list))
	for _, inst := range list {
		rows = append(rows, instanceRow{Instance: inst, ImageName: names[inst.ImageID], Sess: sess})
	}
	return listPage{Rows: rows}
}

// instanceRowFragment serves one row, which refetches itself when its instance changes; an
// instance that is gone answers nothing, so its row disappears.
func (s *Server) instanceRowFragment(w http.ResponseWriter, r *http.Request, sess *session) {
	row, err := s.row(r, sess, r.PathValue("id"))
	if isNotFound(err) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	s.renderBlock(w, r, http.StatusOK, "instances", "instance-row-fragment", sess, row)
}

func (s *Server) row(r *http.Request, sess *session, id string) (instanceRow, error) {
	inst, err := s.getInstance(r.Context(), sess, id)
	if err != nil {
		return instanceRow{}, err
	}
	row := instanceRow{Instance: *inst, Sess: sess}
	var img images.Image
	if inst.ImageID != "" && s.api(sess).Do(r.Context(), http.MethodGet, "/api/v1/images/"+inst.ImageID, nil, &img) == nil {
		row.ImageName = img.Name
	}
	return row, nil
}

// screenshotMaxAge is how long a browser keeps a thumbnail: the API allows few screenshots per
// instance, and a list re-renders its rows often.
const screenshotMaxAge = "private, max-age=20"

// noScreen is the thumbnail of an instance whose screen cannot be had now.
const noScreen = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="54" viewBox="0 0 96 54">` +
	`<rect width="96" height="54" fill="#000"/><text x="48" y="31" fill="#aaa" font-size="10" ` +
	`font-family="sans-serif" text-anchor="middle">no screen</text></svg>`

// instanceScreenshot proxies the API's screenshot of the instance's screen as a thumbnail, cached
// briefly by the browser; when there is none (stopped, rate-limited, forbidden) a placeholder.
func (s *Server) instanceScreenshot(w http.ResponseWriter, r *http.Request, sess *session) {
	body, err := s.api(sess).Stream(r.Context(), http.MethodGet, "/api/v1/instances/"+r.PathValue("id")+"/screenshot")
	if err != nil {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "private, max-age=5")
		_, _ = io.WriteString(w, noScreen)
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", screenshotMaxAge)
	_, _ = io.Copy(w, body)
}
