package ui

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"cloudlet/appliance/compute"
)

// The consoles: the serial console (xterm.js) and the screen (noVNC) of an instance. Their
// islands (src/serial.js, src/vnc.js) ask POST /instances/{id}/console-tickets for a one-time
// ticket, which the API issues to the session's user, then open the API's websocket with it.
func (s *Server) registerConsoles() {
	s.handle(http.MethodGet, "/instances/{id}/console", s.withSession(s.consolePage("instance_console")))
	s.handle(http.MethodGet, "/instances/{id}/screen", s.withAction("instance:console", s.consolePage("instance_screen")))
	s.handle(http.MethodPost, "/instances/{id}/console-tickets", s.withSession(s.consoleTicket))
	s.handle(http.MethodGet, "/instances/{id}/console/log", s.withSession(s.consoleHistory))
}

// consoleView is a console page's data: the instance, where its island gets tickets and, for
// the serial console, the log's tail.
type consoleView struct {
	Instance compute.Instance
	Tickets  string    // the ticket route of this instance
	History  string    // the console log route of this instance
	Tabs     []tabLink // the detail page's tabs, which the console pages carry too
}

// consolePage serves a console page (page is its template) for the instance in the path.
func (s *Server) consolePage(page string) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		var inst compute.Instance
		err := s.api(sess).Do(r.Context(), http.MethodGet, "/api/v1/instances/"+url.PathEscape(r.PathValue("id")), nil, &inst)
		if err != nil {
			http.Error(w, errorMessage(err), statusOf(err))
			return
		}
		base := "/instances/" + url.PathEscape(inst.ID)
		s.render(w, r, http.StatusOK, page, sess, consoleView{Instance: inst,
			Tickets: base + "/console-tickets", History: base + "/console/log", Tabs: detailTabs()})
	}
}

// consoleTicket asks the API for a ticket of the form's kind (serial or vnc) and answers the API's
// ticket JSON ({ticket, url, expires_at}); a refusal answers its status with {"error": message}.
func (s *Server) consoleTicket(w http.ResponseWriter, r *http.Request, sess *session) {
	var tk struct {
		Ticket    string `json:"ticket"`
		URL       string `json:"url"`
		ExpiresAt string `json:"expires_at"`
	}
	err := s.api(sess).Do(r.Context(), http.MethodPost, "/api/v1/instances/"+url.PathEscape(r.PathValue("id"))+"/console-tickets",
		map[string]string{"kind": r.FormValue("kind")}, &tk)
	if err != nil {
		writeJSON(w, statusOf(err), map[string]string{"error": errorMessage(err)})
		return
	}
	writeJSON(w, http.StatusCreated, tk)
}

// consoleHistoryBytes is how much of the console log the serial console shows before its live
// output: the API's websocket streams only what the guest prints after it attaches.
const consoleHistoryBytes = 64 << 10

// consoleHistory answers the tail of the instance's console log as text, streamed from the API
// (readers may not read the log: they get the API's 403 and the island shows live output only).
func (s *Server) consoleHistory(w http.ResponseWriter, r *http.Request, sess *session) {
	body, err := s.api(sess).Stream(r.Context(), http.MethodGet, "/api/v1/instances/"+url.PathEscape(r.PathValue("id"))+
		"/console-log?bytes="+strconv.Itoa(consoleHistoryBytes))
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	defer body.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := io.Copy(w, body); err != nil {
		s.log.Debug("ui: console history cut short", "err", err)
	}
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
