package ui

import (
	"context"
	"errors"
	"net/http"
	"time"

	"cloudlet/web/client"
	"cloudlet/web/inproc"
)

func (s *Server) registerSession() {
	s.handle(http.MethodGet, "/login", s.loginPage)
	s.handle(http.MethodPost, "/login", s.login)
	s.handle(http.MethodPost, "/logout", s.withSession(s.logout))
	s.handle(http.MethodPost, switchPath, s.withSession(s.switchProject))
}

// loginForm is the login page's data.
type loginForm struct {
	Username, Project, Next string
	Error                   string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.readSession(r); ok {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", nil, loginForm{Next: r.URL.Query().Get("next")})
}

// login asks the API for a session token (idle expiry) with the form's password and keeps its
// secret in the cookie.
// A refusal shows the API's message (one for every wrong name, password or project) on the form.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	f := loginForm{Username: r.PostFormValue("username"), Project: r.PostFormValue("project"),
		Next: r.PostFormValue("next")}
	api := client.New(client.Options{Transport: inproc.Transport{API: s.opts.API, RemoteAddr: r.RemoteAddr}})
	var tok struct {
		Token string `json:"token"`
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	err := api.Do(ctx, http.MethodPost, "/api/v1/auth/tokens",
		map[string]any{"username": f.Username, "password": r.PostFormValue("password"), "project": f.Project, "session": true}, &tok)
	if err != nil {
		f.Error = errorMessage(err)
		s.render(w, r, statusOf(err), "login", nil, f)
		return
	}
	setSessionCookie(w, r, tok.Token)
	http.Redirect(w, r, localPath(f.Next), http.StatusSeeOther)
}

// logout revokes the session's token, so the cookie is worthless even if it was copied.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	s.revokeSession(r.Context(), sess)
	setSessionCookie(w, r, "")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// errorMessage is what a form shows for an API error: the API's own message.
func errorMessage(err error) string {
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return "the request failed: " + err.Error()
}

// statusOf is the API error's status, or 502 when the call itself failed.
func statusOf(err error) int {
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return http.StatusBadGateway
}
