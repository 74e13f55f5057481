package ui

import (
	"context"
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

// formState is a submitted form as a page re-renders it: the values typed and the errors by field
// ("" is the form's own error, shown above its fields).
type formState struct {
	Name   string // which form on the page ("create", "attach", ...)
	Values url.Values
	Errors map[string]string
}

// Get is the value typed into field.
func (f *formState) Get(field string) string {
	if f == nil {
		return ""
	}
	return f.Values.Get(field)
}

// Err is field's error ("" for the form's own); empty when there is none.
func (f *formState) Err(field string) string {
	if f == nil {
		return ""
	}
	return f.Errors[field]
}

// Of is the form if it is the one named name, else nil (whose Get and Err are empty): a page with
// several forms shows a refusal only on the form that was sent.
func (f *formState) Of(name string) *formState {
	if f == nil || f.Name != name {
		return nil
	}
	return f
}

// failedForm is form name with err, the API's refusal, put on the first field whose hint appears
// in the message (hints are pairs: substring, field), else on the form itself.
func failedForm(name string, values url.Values, err error, hints ...string) *formState {
	msg := errorMessage(err)
	field := ""
	lower := strings.ToLower(msg)
	for i := 0; i+1 < len(hints); i += 2 {
		if strings.Contains(lower, hints[i]) {
			field = hints[i+1]
			break
		}
	}
	return &formState{Name: name, Values: values, Errors: map[string]string{field: msg}}
}

// formStatus is the status of a page re-rendered for a refused form: 422 for a value the API
// found invalid (htmx swaps it), else the API's own status.
func formStatus(err error) int {
	if code := statusOf(err); code != http.StatusBadRequest {
		return code
	}
	return http.StatusUnprocessableEntity
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

// fetch reads path from the API as the session's user into out.
func (s *Server) fetch(ctx context.Context, sess *session, path string, out any) error {
	return s.api(sess).Do(ctx, http.MethodGet, path, nil, out)
}

// fetchAll reads several API paths; the first failure is returned.
func (s *Server) fetchAll(ctx context.Context, sess *session, reads ...read) error {
	for _, rd := range reads {
		if rd.skip {
			continue
		}
		if err := s.fetch(ctx, sess, rd.path, rd.out); err != nil {
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

// confirmation is a destructive action's confirmation (template res-confirm): a disclosure that
// names the object and what will be lost, around the form that does it.
type confirmation struct {
	CSRF, Action       string
	Verb, Object, Cost string // "Delete", "volume data", "This cannot be undone."
	Hidden             map[string]string
}

// confirms gives a page's data the Confirm method its templates build confirmations with.
type confirms struct{}

// Confirm is the confirmation of verb on object by a POST of action; hidden are name, value pairs
// of the form's other fields.
func (confirms) Confirm(csrf, action, verb, object, cost string, hidden ...string) confirmation {
	c := confirmation{CSRF: csrf, Action: action, Verb: verb, Object: object, Cost: cost, Hidden: map[string]string{}}
	for i := 0; i+1 < len(hidden); i += 2 {
		c.Hidden[hidden[i]] = hidden[i+1]
	}
	return c
}
