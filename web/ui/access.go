package ui

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cloudlet/appliance/identity"
)

// The access pages hold what lets a user in: SSH keypairs (for instances) and API keys
// (application credentials, for scripts). Both belong to the user, and both show a secret once:
// a generated private key, or a new credential's secret. cloudlet keeps neither.

// registerAccess registers the access pages' routes.
func (s *Server) registerAccess() {
	s.handle(http.MethodGet, "/keypairs", s.withSession(func(w http.ResponseWriter, r *http.Request, sess *session) {
		s.keypairsPage(w, r, sess, http.StatusOK, &keypairsData{})
	}))
	s.handle(http.MethodPost, "/keypairs", s.withSession(s.createKeypair))
	s.handle(http.MethodPost, "/keypairs/{id}/delete", s.withSession(s.deleteKeypair))
	s.handle(http.MethodGet, "/api-keys", s.withSession(func(w http.ResponseWriter, r *http.Request, sess *session) {
		s.apiKeysPage(w, r, sess, http.StatusOK, &apiKeysData{})
	}))
	s.handle(http.MethodPost, "/api-keys", s.withSession(s.createAPIKey))
	s.handle(http.MethodPost, "/api-keys/{id}/revoke", s.withSession(s.revokeAPIKey))
}

// keypairsData is the keypairs page: the list, the import and generate forms, and a keypair
// just generated, whose private key this one answer carries.
type keypairsData struct {
	pageErrors
	Keypairs         []identity.Keypair
	Import, Generate *formState
	Generated        *identity.Keypair
}

// PrivateKeyURL is the generated private key as a data: URL, for a download link that needs no
// second request (the key is never stored, so it could not be served again).
func (d *keypairsData) PrivateKeyURL() template.URL {
	if d.Generated == nil {
		return ""
	}
	return template.URL("data:application/x-pem-file;base64," + base64.StdEncoding.EncodeToString([]byte(d.Generated.PrivateKey)))
}

func (s *Server) keypairsPage(w http.ResponseWriter, r *http.Request, sess *session, status int, d *keypairsData) {
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/keypairs", nil, &d.Keypairs)
	s.renderPage(w, r, sess, "keypairs", status, err, &d.pageErrors, d)
}

// createKeypair imports the form's public key, or with none has the API generate a keypair.
func (s *Server) createKeypair(w http.ResponseWriter, r *http.Request, sess *session) {
	in := map[string]string{"name": r.PostFormValue("name"), "public_key": strings.TrimSpace(r.PostFormValue("public_key"))}
	generate := r.PostFormValue("form") == "generate"
	if generate {
		in["public_key"] = ""
	}
	var k identity.Keypair
	if err := s.callAs(r, sess, http.MethodPost, "/api/v1/keypairs", in, &k); err != nil {
		f := refused(r, err, [2]string{"public_key", "key"}, [2]string{"name", "name"})
		d := &keypairsData{Import: f}
		if generate {
			f.Field, d.Import, d.Generate = "name", nil, f
		}
		s.keypairsPage(w, r, sess, formStatus(err), d)
		return
	}
	if generate {
		s.keypairsPage(w, r, sess, http.StatusCreated, &keypairsData{Generated: &k})
		return
	}
	redirectDone(w, r, "/keypairs")
}

func (s *Server) deleteKeypair(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.callAs(r, sess, http.MethodDelete, "/api/v1/keypairs/"+url.PathEscape(r.PathValue("id")), nil, nil); err != nil {
		s.keypairsPage(w, r, sess, formStatus(err), &keypairsData{pageErrors: actionFailed(err)})
		return
	}
	redirectDone(w, r, "/keypairs")
}

// apiKeysData is the API keys page: the user's application credentials, the create form, and
// one just created, whose secret this one answer carries.
type apiKeysData struct {
	pageErrors
	Credentials []identity.Credential
	Roles       []string
	Create      *formState
	Created     *identity.Credential
}

func (s *Server) apiKeysPage(w http.ResponseWriter, r *http.Request, sess *session, status int, d *apiKeysData) {
	d.Roles = identity.Roles()
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/credentials", nil, &d.Credentials)
	s.renderPage(w, r, sess, "apikeys", status, err, &d.pageErrors, d)
}

// createAPIKey creates an application credential from the form: name, description, roles (none:
// all the user's), allowed actions (one per line or comma-separated; none: what the roles allow)
// and an expiry date (none: never).
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, sess *session) {
	in := map[string]any{"name": r.PostFormValue("name"), "description": r.PostFormValue("description"),
		"roles": r.PostForm["roles"], "allowed_actions": strings.FieldsFunc(r.PostFormValue("allowed_actions"),
			func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' })}
	var err error
	if exp := r.PostFormValue("expires"); exp != "" {
		var t time.Time
		if t, err = time.Parse(time.DateOnly, exp); err != nil {
			err = &formInputError{msg: "the expiry must be a date (YYYY-MM-DD), not " + exp}
		}
		in["expires_at"] = t
	}
	var c identity.Credential
	if err == nil {
		err = s.callAs(r, sess, http.MethodPost, "/api/v1/credentials", in, &c)
	}
	if err != nil {
		s.apiKeysPage(w, r, sess, formStatus(err), &apiKeysData{Create: refused(r, err,
			[2]string{"expires", "expir"}, [2]string{"allowed_actions", "action"}, [2]string{"roles", "role"},
			[2]string{"description", "description"}, [2]string{"name", "name"})})
		return
	}
	s.apiKeysPage(w, r, sess, http.StatusCreated, &apiKeysData{Created: &c})
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.callAs(r, sess, http.MethodDelete, "/api/v1/credentials/"+url.PathEscape(r.PathValue("id")), nil, nil); err != nil {
		s.apiKeysPage(w, r, sess, formStatus(err), &apiKeysData{pageErrors: actionFailed(err)})
		return
	}
	redirectDone(w, r, "/api-keys")
}
