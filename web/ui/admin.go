package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The admin pages manage the cloud: projects, users and their roles, quotas, flavors, the host and
// the audit log. Every page reads and changes through the API as the session's user, so a member
// who forces one gets the API's 403; the navigation shows "Admin" only to admins.

// registerAdmin registers the admin pages' routes.
func (s *Server) registerAdmin() {
	s.handle(http.MethodGet, "/admin", s.withSession(s.adminIndex))
	s.registerAdminProjects()
	s.registerAdminUsers()
	s.registerAdminRoles()
	s.registerAdminQuotas()
	s.registerAdminFlavors()
	s.registerAdminHost()
	s.registerAdminAudit()
}

// adminIndexData counts what the admin pages manage.
type adminIndexData struct {
	pageErrors
	Projects, Users, Flavors int
}

// adminIndex links the admin pages, with counts read from the API (which refuses a non-admin).
func (s *Server) adminIndex(w http.ResponseWriter, r *http.Request, sess *session) {
	var d adminIndexData
	var projects, users, flavors []struct{}
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/projects", nil, &projects)
	if err == nil {
		err = s.callAs(r, sess, http.MethodGet, "/api/v1/users", nil, &users)
	}
	if err == nil {
		err = s.callAs(r, sess, http.MethodGet, "/api/v1/flavors", nil, &flavors)
	}
	d.Projects, d.Users, d.Flavors = len(projects), len(users), len(flavors)
	s.renderPage(w, r, sess, "admin_index", http.StatusOK, err, &d.pageErrors, &d)
}

// pageErrors are a page's failures: loading what it shows, or the last action on it.
type pageErrors struct {
	LoadError   string
	ActionError string
}

// renderPage renders a page with status, or when loading what it shows failed (err), with the
// API's status and message.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, sess *session, name string, status int, err error, pe *pageErrors, data any) {
	if err != nil {
		status, pe.LoadError = statusOf(err), errorMessage(err)
	}
	s.render(w, r, status, name, sess, data)
}

// apiTimeout bounds one API call a page makes.
const apiTimeout = 30 * time.Second

// callAs calls the API as the session's user.
func (s *Server) callAs(r *http.Request, sess *session, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	return s.api(sess).Do(ctx, method, path, in, out)
}

// formState is a form as the page shows it again after the API refused it: what was typed, the
// API's message, and the field the message names (tied to it with aria-describedby).
type formState struct {
	Values url.Values
	Error  string
	Field  string
}

// Value is what was typed into field.
func (f *formState) Value(field string) string {
	if f == nil {
		return ""
	}
	return f.Values.Get(field)
}

// Checked reports whether value was among field's (a checkbox).
func (f *formState) Checked(field, value string) bool {
	return f != nil && slices.Contains(f.Values[field], value)
}

// Invalid reports whether the error concerns field.
func (f *formState) Invalid(field string) bool { return f != nil && f.Error != "" && f.Field == field }

// refused is the form state for err: its message, tied to the first of fields (form field name
// and the words the API uses for it) that the message mentions.
func refused(r *http.Request, err error, fields ...[2]string) *formState {
	f := &formState{Values: url.Values{}, Error: messageOf(err)}
	for k, v := range r.PostForm {
		if k != csrfField {
			f.Values[k] = v
		}
	}
	for _, fw := range fields {
		if containsWord(f.Error, fw[1]) {
			f.Field = fw[0]
			break
		}
	}
	return f
}

// formStatus is the status of a page that shows a refused form again: 422 for what the user can
// fix (invalid input, a conflict or a quota: htmx swaps it in), the API's own status otherwise
// (403 for a user without the role).
func formStatus(err error) int {
	var fe *formInputError
	if errors.As(err, &fe) {
		return http.StatusUnprocessableEntity
	}
	switch st := statusOf(err); st {
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
		return http.StatusUnprocessableEntity
	default:
		return st
	}
}

// actionFailed is a page's errors after the API refused an action on one of its rows.
func actionFailed(err error) pageErrors { return pageErrors{ActionError: messageOf(err)} }

// messageOf is what a page shows for err: the API's message, or the form's own.
func messageOf(err error) string {
	var fe *formInputError
	if errors.As(err, &fe) {
		return fe.msg
	}
	return errorMessage(err)
}

// redirectDone sends the browser back to page after a change (POST → 303 → GET).
func redirectDone(w http.ResponseWriter, r *http.Request, page string) {
	http.Redirect(w, r, page, http.StatusSeeOther)
}

// formInputError is a form value the page cannot even send (a number that is not one): shown like
// the API's refusals, with 422.
type formInputError struct{ msg string }

func (e *formInputError) Error() string { return e.msg }

// containsWord reports whether msg names word (a resource or field name).
func containsWord(msg, word string) bool {
	return strings.Contains(strings.ToLower(msg), strings.ToLower(word))
}

// confirmForm is a destructive action's form behind a disclosure (the "confirm" template).
type confirmForm struct {
	Session                 *session
	Action, Label, Question string
	Fields                  map[string]string
}

// Confirm builds a confirm form for a page's template: the action's URL, its button's label, the
// question it asks, and hidden fields as name, value pairs.
func (pageErrors) Confirm(sess *session, action, label, question string, fields ...string) confirmForm {
	c := confirmForm{Session: sess, Action: action, Label: label, Question: question, Fields: map[string]string{}}
	for i := 0; i+1 < len(fields); i += 2 {
		c.Fields[fields[i]] = fields[i+1]
	}
	return c
}
