package ui

import (
	"net/http"
	"slices"

	"cloudlet/appliance/compute"
)

// instanceAction is an action a row or the detail page offers: its route name, the API action it
// calls ("" for delete, which is DELETE), the policy action that allows it, and the states it
// makes sense in. Confirm asks first (it interrupts or destroys what the guest is doing).
type instanceAction struct {
	Name, Label, API, Policy string
	Confirm, Danger          bool
	States                   []compute.VMState
}

// instanceActions are the actions, in the order the pages show them.
func instanceActions() []instanceAction {
	return []instanceAction{
		{Name: "start", Label: "Start", API: "start", Policy: "instance:start", States: []compute.VMState{compute.VMStopped}},
		{Name: "stop", Label: "Stop", API: "stop", Policy: "instance:stop", Confirm: true,
			States: []compute.VMState{compute.VMActive, compute.VMPaused}},
		{Name: "reboot", Label: "Reboot", API: "reboot", Policy: "instance:reboot", Confirm: true,
			States: []compute.VMState{compute.VMActive}},
		{Name: "pause", Label: "Pause", API: "pause", Policy: "instance:pause", States: []compute.VMState{compute.VMActive}},
		{Name: "resume", Label: "Resume", API: "unpause", Policy: "instance:unpause", States: []compute.VMState{compute.VMPaused}},
		{Name: "delete", Label: "Delete", Policy: "instance:delete", Confirm: true, Danger: true},
	}
}

// allowed reports whether the action makes sense in state (delete always does).
func (a instanceAction) allowed(state compute.VMState) bool {
	return a.States == nil || slices.Contains(a.States, state)
}

func actionNamed(name string) (instanceAction, bool) {
	for _, a := range instanceActions() {
		if a.Name == name {
			return a, true
		}
	}
	return instanceAction{}, false
}

// instanceAction serves POST /instances/{id}/{action}: it asks the API, then answers htmx with the
// instance's row (with the API's error on it, as 422, when it refused) and a plain form with a
// redirect back to where it came from (or the error page).
func (s *Server) instanceAction(a instanceAction) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		id := r.PathValue("id")
		var err error
		if a.API == "" {
			err = s.api(sess).Do(r.Context(), http.MethodDelete, "/api/v1/instances/"+id, nil, nil)
		} else {
			err = s.api(sess).Do(r.Context(), http.MethodPost, "/api/v1/instances/"+id+"/"+a.API, nil, nil)
		}
		if isHTMX(r) {
			s.actionRow(w, r, sess, id, err)
			return
		}
		if err != nil {
			s.render(w, r, statusOf(err), "instance-confirm", sess, confirmPage{ID: id, Action: a, Error: errorMessage(err),
				Next: localPath(r.PostFormValue("next"))})
			return
		}
		next := localPath(r.PostFormValue("next"))
		if a.Name == "delete" && next == "/instances/"+id {
			next = "/instances"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// actionRow answers an htmx action with the instance's row as it is now.
func (s *Server) actionRow(w http.ResponseWriter, r *http.Request, sess *session, id string, actErr error) {
	row, err := s.row(r, sess, id)
	if err != nil {
		if isNotFound(err) && actErr == nil {
			w.WriteHeader(http.StatusOK) // deleted already: the row goes
			return
		}
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	status := http.StatusOK
	if actErr != nil {
		row.Error, status = errorMessage(actErr), http.StatusUnprocessableEntity
	}
	s.renderBlock(w, r, status, "instances", "instance-row-fragment", sess, row)
}

// confirmPage asks before an action that interrupts or destroys: it names the instance, and its
// form posts the action. It works without JavaScript and from the keyboard.
type confirmPage struct {
	ID, Name, Next string
	Action         instanceAction
	Error          string
}

func (s *Server) instanceConfirm(w http.ResponseWriter, r *http.Request, sess *session) {
	a, ok := actionNamed(r.URL.Query().Get("action"))
	if !ok {
		http.Error(w, "unknown action", http.StatusNotFound)
		return
	}
	inst, err := s.getInstance(r.Context(), sess, r.PathValue("id"))
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	next := r.URL.Query().Get("next")
	if next == "" {
		next = "/instances"
	}
	s.render(w, r, http.StatusOK, "instance-confirm", sess, confirmPage{ID: inst.ID, Name: inst.Name, Action: a, Next: localPath(next)})
}
