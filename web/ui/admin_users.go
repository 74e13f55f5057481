package ui

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/identity"
)

func (s *Server) registerAdminUsers() {
	s.handle(http.MethodGet, "/admin/users", s.withSession(func(w http.ResponseWriter, r *http.Request, sess *session) {
		s.usersPage(w, r, sess, http.StatusOK, &usersData{})
	}))
	s.handle(http.MethodPost, "/admin/users", s.withSession(s.createUser))
	s.handle(http.MethodPost, "/admin/users/{id}/enabled", s.withSession(s.setUserEnabled))
	s.handle(http.MethodPost, "/admin/users/{id}/reset-password", s.withSession(s.resetUserPassword))
	s.handle(http.MethodPost, "/admin/users/{id}/unlock", s.withSession(s.unlockUser))
	s.handle(http.MethodPost, "/admin/users/{id}/delete", s.withSession(s.deleteUser))
}

// usersData is the users page: the list, the create form, and a password just reset (shown once).
type usersData struct {
	pageErrors
	Users    []identity.User
	Projects []identity.Project // for the default project's choice
	Create   *formState
	Reset    *passwordReset
}

// passwordReset is a password the API generated, shown this once.
type passwordReset struct{ User, Password string }

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, sess *session, status int, d *usersData) {
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/users", nil, &d.Users)
	if err == nil {
		err = s.callAs(r, sess, http.MethodGet, "/api/v1/projects", nil, &d.Projects)
	}
	s.renderPage(w, r, sess, "admin_users", status, err, &d.pageErrors, d)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, sess *session) {
	in := map[string]any{"name": r.PostFormValue("name"), "email": r.PostFormValue("email"),
		"password": r.PostFormValue("password"), "default_project": r.PostFormValue("default_project"),
		"enabled": r.PostFormValue("enabled") == "true"}
	if err := s.callAs(r, sess, http.MethodPost, "/api/v1/users", in, nil); err != nil {
		f := refused(r, err, [2]string{"password", "password"}, [2]string{"email", "mail"},
			[2]string{"default_project", "project"}, [2]string{"name", "name"}, [2]string{"name", "user"})
		delete(f.Values, "password") // never sent back to the browser
		s.usersPage(w, r, sess, formStatus(err), &usersData{Create: f})
		return
	}
	redirectDone(w, r, "/admin/users")
}

func (s *Server) setUserEnabled(w http.ResponseWriter, r *http.Request, sess *session) {
	in := map[string]bool{"enabled": r.PostFormValue("enabled") == "true"}
	s.userAction(w, r, sess, http.MethodPatch, "", in)
}

func (s *Server) unlockUser(w http.ResponseWriter, r *http.Request, sess *session) {
	s.userAction(w, r, sess, http.MethodDelete, "/lockout", nil)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, sess *session) {
	s.userAction(w, r, sess, http.MethodDelete, "", nil)
}

func (s *Server) userAction(w http.ResponseWriter, r *http.Request, sess *session, method, tail string, in any) {
	if err := s.callAs(r, sess, method, "/api/v1/users/"+url.PathEscape(r.PathValue("id"))+tail, in, nil); err != nil {
		s.usersPage(w, r, sess, formStatus(err), &usersData{pageErrors: actionFailed(err)})
		return
	}
	redirectDone(w, r, "/admin/users")
}

// resetUserPassword has the API generate a new password, which this answer shows once.
func (s *Server) resetUserPassword(w http.ResponseWriter, r *http.Request, sess *session) {
	var out struct {
		Password string `json:"password"`
	}
	id := r.PathValue("id")
	if err := s.callAs(r, sess, http.MethodPost, "/api/v1/users/"+url.PathEscape(id)+"/reset-password", nil, &out); err != nil {
		s.usersPage(w, r, sess, formStatus(err), &usersData{pageErrors: actionFailed(err)})
		return
	}
	user := r.PostFormValue("name")
	if user == "" {
		user = id
	}
	s.usersPage(w, r, sess, http.StatusOK, &usersData{Reset: &passwordReset{User: user, Password: out.Password}})
}
