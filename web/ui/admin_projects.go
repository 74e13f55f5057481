package ui

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/identity"
)

func (s *Server) registerAdminProjects() {
	s.handle(http.MethodGet, "/admin/projects", s.withSession(func(w http.ResponseWriter, r *http.Request, sess *session) {
		s.projectsPage(w, r, sess, http.StatusOK, &projectsData{})
	}))
	s.handle(http.MethodPost, "/admin/projects", s.withSession(s.createProject))
	s.handle(http.MethodPost, "/admin/projects/{id}/enabled", s.withSession(s.setProjectEnabled))
	s.handle(http.MethodPost, "/admin/projects/{id}/delete", s.withSession(s.deleteProject))
}

// projectsData is the projects page: the list and the create form.
type projectsData struct {
	pageErrors
	Projects []identity.Project
	Create   *formState
}

func (s *Server) projectsPage(w http.ResponseWriter, r *http.Request, sess *session, status int, d *projectsData) {
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/projects", nil, &d.Projects)
	s.renderPage(w, r, sess, "admin_projects", status, err, &d.pageErrors, d)
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, sess *session) {
	in := map[string]string{"name": r.PostFormValue("name"), "description": r.PostFormValue("description")}
	if err := s.callAs(r, sess, http.MethodPost, "/api/v1/projects", in, nil); err != nil {
		s.projectsPage(w, r, sess, formStatus(err), &projectsData{Create: refused(r, err,
			[2]string{"description", "description"}, [2]string{"name", "name"}, [2]string{"name", "project"})})
		return
	}
	redirectDone(w, r, "/admin/projects")
}

// setProjectEnabled enables (enabled=true) or disables a project: a disabled one's users cannot log in to it.
func (s *Server) setProjectEnabled(w http.ResponseWriter, r *http.Request, sess *session) {
	in := map[string]bool{"enabled": r.PostFormValue("enabled") == "true"}
	s.projectAction(w, r, sess, http.MethodPatch, in)
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, sess *session) {
	s.projectAction(w, r, sess, http.MethodDelete, nil)
}

func (s *Server) projectAction(w http.ResponseWriter, r *http.Request, sess *session, method string, in any) {
	if err := s.callAs(r, sess, method, "/api/v1/projects/"+url.PathEscape(r.PathValue("id")), in, nil); err != nil {
		s.projectsPage(w, r, sess, formStatus(err), &projectsData{pageErrors: actionFailed(err)})
		return
	}
	redirectDone(w, r, "/admin/projects")
}
