package ui

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/identity"
)

func (s *Server) registerAdminRoles() {
	s.handle(http.MethodGet, "/admin/roles", s.withSession(func(w http.ResponseWriter, r *http.Request, sess *session) {
		s.rolesPage(w, r, sess, http.StatusOK, &rolesData{})
	}))
	s.handle(http.MethodPost, "/admin/roles", s.withSession(s.assignRole))
	s.handle(http.MethodPost, "/admin/roles/unassign", s.withSession(s.unassignRole))
}

// rolesData is the role assignments page: who holds which role where, and the assign form.
type rolesData struct {
	pageErrors
	Assignments []roleRow
	Users       []identity.User
	Projects    []identity.Project
	Roles       []string
	Assign      *formState
}

// roleRow is one assignment with the names of its user and project.
type roleRow struct {
	identity.RoleAssignment
	UserName, ProjectName string
}

func (s *Server) rolesPage(w http.ResponseWriter, r *http.Request, sess *session, status int, d *rolesData) {
	d.Roles = identity.Roles()
	var as []identity.RoleAssignment
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/role-assignments", nil, &as)
	if err == nil {
		err = s.callAs(r, sess, http.MethodGet, "/api/v1/users", nil, &d.Users)
	}
	if err == nil {
		err = s.callAs(r, sess, http.MethodGet, "/api/v1/projects", nil, &d.Projects)
	}
	d.Assignments = nameAssignments(as, d.Users, d.Projects)
	s.renderPage(w, r, sess, "admin_roles", status, err, &d.pageErrors, d)
}

// nameAssignments adds the user's and project's names to each assignment (IDs when unknown).
func nameAssignments(as []identity.RoleAssignment, users []identity.User, projects []identity.Project) []roleRow {
	userNames, projectNames := map[string]string{}, map[string]string{}
	for _, u := range users {
		userNames[u.ID] = u.Name
	}
	for _, p := range projects {
		projectNames[p.ID] = p.Name
	}
	rows := make([]roleRow, 0, len(as))
	for _, a := range as {
		row := roleRow{RoleAssignment: a, UserName: userNames[a.UserID], ProjectName: projectNames[a.ProjectID]}
		if row.UserName == "" {
			row.UserName = a.UserID
		}
		if row.ProjectName == "" {
			row.ProjectName = a.ProjectID
		}
		rows = append(rows, row)
	}
	return rows
}

// rolePath is the API's path of a role of a user on a project.
func rolePath(r *http.Request) string {
	return "/api/v1/projects/" + url.PathEscape(r.PostFormValue("project")) + "/users/" +
		url.PathEscape(r.PostFormValue("user")) + "/roles/" + url.PathEscape(r.PostFormValue("role"))
}

func (s *Server) assignRole(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.callAs(r, sess, http.MethodPut, rolePath(r), nil, nil); err != nil {
		s.rolesPage(w, r, sess, formStatus(err), &rolesData{Assign: refused(r, err,
			[2]string{"role", "role"}, [2]string{"project", "project"}, [2]string{"user", "user"})})
		return
	}
	redirectDone(w, r, "/admin/roles")
}

func (s *Server) unassignRole(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.callAs(r, sess, http.MethodDelete, rolePath(r), nil, nil); err != nil {
		s.rolesPage(w, r, sess, formStatus(err), &rolesData{pageErrors: actionFailed(err)})
		return
	}
	redirectDone(w, r, "/admin/roles")
}
