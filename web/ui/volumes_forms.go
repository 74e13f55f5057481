package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"cloudlet/web/client"
)

// The resource pages (volumes, snapshots, network) are plain forms: a POST that the API accepts
// redirects (303) back to a page; one it refuses re-renders the page with the API's message next to
// the field it concerns (422 for a bad value, else the API's status). The UI checks nothing itself.
// This file holds what the volumes and network pages share for that.

// apiCall is one request a page's form turns into, and where the API's refusal shows: hints are
// pairs of a substring of its message and the field it concerns (failedForm).
type apiCall struct {
	method, path string
	in           any
	hints        []string
}

// sentForm is the refused form of a page that has several: its name ("create", "attach", ...)
// and admin.go's formState (what was typed, the API's message, the field it names).
type sentForm struct {
	Name string
	*formState
}

// Of is the form if it is the one named name, else nil (whose Get and Err are empty): a page with
// several forms shows a refusal only on the form that was sent.
func (f *sentForm) Of(name string) *sentForm {
	if f == nil || f.Name != name {
		return nil
	}
	return f
}

// Get is the value typed into field.
func (f *sentForm) Get(field string) string {
	if f == nil {
		return ""
	}
	return f.Value(field)
}

// Err is the API's message when it concerns field ("" is the form itself); empty otherwise.
func (f *sentForm) Err(field string) string {
	if f == nil || f.Field != field {
		return ""
	}
	return f.Error
}

// failedForm is form name refused with err, the message put on the first field whose hint it
// contains (hints are pairs: a word of the API's message, the field), else on the form itself.
func failedForm(name string, r *http.Request, err error, hints ...string) *sentForm {
	var fields [][2]string
	for i := 0; i+1 < len(hints); i += 2 {
		fields = append(fields, [2]string{hints[i+1], hints[i]})
	}
	return &sentForm{Name: name, formState: refused(r, err, fields...)}
}

// postForm is the request's form fields (a body the server cannot parse has none).
func postForm(r *http.Request) url.Values {
	_ = r.ParseForm()
	return r.PostForm
}

// number is a form field as the API's JSON wants it: a number when it is one, the text otherwise
// (so the API, not the page, says what is wrong with it), nothing when empty.
func number(s string) any {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}

// body builds a JSON object from pairs of key and value, leaving out nil and "" values.
func body(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case nil:
		case string:
			if v = strings.TrimSpace(v); v != "" {
				m[kv[i].(string)] = v
			}
		default:
			m[kv[i].(string)] = v
		}
	}
	return m
}

// fetchAll reads several API paths as the session's user; the first failure is returned.
func (s *Server) fetchAll(r *http.Request, sess *session, reads ...read) error {
	for _, rd := range reads {
		if rd.skip {
			continue
		}
		if err := s.callAs(r, sess, http.MethodGet, rd.path, nil, rd.out); err != nil {
			return err
		}
	}
	return nil
}

// read is one GET of fetchAll; skip leaves out a read the session may not make.
type read struct {
	path string
	out  any
	skip bool
}

// pageError answers a page whose reads failed with the API's message and status.
func (s *Server) pageError(w http.ResponseWriter, err error) {
	var ae *client.Error
	if !errors.As(err, &ae) {
		s.log.Error("ui: an API read failed", "err", err)
	}
	http.Error(w, errorMessage(err), statusOf(err))
}

// ref is anything a form picks by ID and shows by name (an image, an instance, a network).
type ref struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	VMState string `json:"vm_state"`
}

// Label is how a picker shows the thing: its name, else its ID.
func (r ref) Label() string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

// names maps the IDs of refs to their labels.
func names(refs []ref) map[string]string {
	m := make(map[string]string, len(refs))
	for _, r := range refs {
		m[r.ID] = r.Label()
	}
	return m
}
