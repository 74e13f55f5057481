package ui

import (
	"context"
	"net/http"
	"sync"

	"cloudlet/appliance/identity"
	"cloudlet/web/client"
	"cloudlet/web/inproc"
)

// The project switcher (parts/nav.html) rescopes the session's token to another project through
// the API (POST /api/v1/auth/tokens with the token and a project), swaps the cookie, revokes the
// old token and returns to the page the user was on. The API decides where the user may go.

const switchPath = "/session/project"

// switchableProjects returns a reader of the projects sess may switch to (GET
// /api/v1/auth/projects), asked at most once per request and only when a page shows the switcher.
// A failure shows no switcher; it is logged.
func (s *Server) switchableProjects(r *http.Request, sess *session) func() []identity.Project {
	return sync.OnceValue(func() []identity.Project {
		var out []identity.Project
		if err := s.api(sess).Do(r.Context(), http.MethodGet, "/api/v1/auth/projects", nil, &out); err != nil {
			s.log.Warn("ui: list the projects of the session", "err", err)
			return nil
		}
		return out
	})
}

// Projects lists the projects the session may switch to; the switcher shows when there are two or more.
func (s *session) Projects() []identity.Project {
	if s.projects == nil {
		return nil
	}
	return s.projects()
}

// switchFailed is the page of a refused switch.
type switchFailed struct {
	Project, Error string
}

// switchProject moves the session to the project the form names.
func (s *Server) switchProject(w http.ResponseWriter, r *http.Request, sess *session) {
	project := r.PostFormValue("project")
	api := client.New(client.Options{Transport: inproc.Transport{API: s.opts.API, RemoteAddr: r.RemoteAddr}, Token: sess.secret})
	var tok struct {
		Token string `json:"token"`
	}
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/auth/tokens", map[string]string{"project": project}, &tok); err != nil {
		s.render(w, r, statusOf(err), "switch", sess, switchFailed{Project: project, Error: errorMessage(err)})
		return
	}
	setSessionCookie(w, r, tok.Token)
	s.revokeSession(r.Context(), sess)
	next := localPath(r.PostFormValue("next"))
	if next == switchPath {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// revokeSession revokes the session's token, so its cookie is worthless even if it was copied.
func (s *Server) revokeSession(ctx context.Context, sess *session) {
	id := sess.principal.TokenID
	if id == "" {
		return
	}
	if err := s.api(sess).Do(ctx, http.MethodDelete, "/api/v1/auth/tokens/"+id, nil, nil); err != nil {
		s.log.Warn("ui: could not revoke the session's token", "token_id", id, "err", err)
	}
}
