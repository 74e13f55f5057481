package ui

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"cloudlet/appliance/identity"
)

// registerOverview registers the overview page.
func (s *Server) registerOverview() {
	s.handle(http.MethodGet, "/overview", s.withSession(s.overview))
}

// overviewData is the overview page: the project's quota usage, the host for those who may see
// it, and the newest events. Each part shows its own error; the page still renders.
type overviewData struct {
	Quotas      []quotaRow
	QuotasError string
	Host        *hostView // nil unless the policy lets the session see the host
	HostError   string
	Events      []eventLine
	EventsError string
}

// overviewQuotas are the resources the overview shows as bars.
var overviewQuotas = []string{identity.QuotaInstances, identity.QuotaCores, identity.QuotaRAM,
	identity.QuotaVolumes, identity.QuotaGigabytes, identity.QuotaFloatingIPs}

// recentEvents is how many of the newest events the overview lists.
const recentEvents = 10

func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session) {
	var d overviewData
	var rep identity.QuotaReport
	if err := s.callAs(r, sess, http.MethodGet, "/api/v1/quotas", nil, &rep); err != nil {
		d.QuotasError = messageOf(err)
	} else {
		d.Quotas = quotaRows(&rep, overviewQuotas)
	}
	if sess.Can("host:show") {
		var err error
		if d.Host, err = s.readHost(r, sess); err != nil {
			d.HostError = messageOf(err)
		}
	}
	var err error
	if d.Events, err = s.newestEvents(r, sess, recentEvents); err != nil {
		d.EventsError = messageOf(err)
	}
	s.render(w, r, http.StatusOK, "overview", sess, d)
}

// event is one entry of GET /api/v1/events (the catalog's store.Event).
type event struct {
	Seq  uint64          `json:"seq"`
	Time time.Time       `json:"time"`
	Type string          `json:"type"`
	Kind string          `json:"kind"`
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
}

// eventLine is an event in words.
type eventLine struct {
	Time time.Time
	Text string
}

// eventPage is how many events one API call reads while looking for the newest.
const eventPage = 5000

// newestEvents reads the log to its end (the API lists events oldest first after a seq) and
// returns its last n, newest first, in words. The audit log's own events are left out.
func (s *Server) newestEvents(r *http.Request, sess *session, n int) ([]eventLine, error) {
	var last []event
	for since := uint64(0); ; {
		var page []event
		if err := s.callAs(r, sess, http.MethodGet, fmt.Sprintf("/api/v1/events?since=%d&limit=%d", since, eventPage), nil, &page); err != nil {
			return nil, err
		}
		for _, e := range page {
			if e.Type != "audit.recorded" { // every API call's; the audit log shows them
				last = append(last, e)
			}
		}
		if len(last) > n {
			last = last[len(last)-n:]
		}
		if len(page) < eventPage {
			break
		}
		since = page[len(page)-1].Seq
	}
	lines := make([]eventLine, 0, len(last))
	for i := len(last) - 1; i >= 0; i-- {
		lines = append(lines, eventLine{Time: last[i].Time, Text: eventText(last[i])})
	}
	return lines, nil
}

// eventText says what an event records: "image debian-12 is active", "volume 5e6f7a8b created".
// The data names the resource when it can, and a state event's new state.
func eventText(e event) string {
	kind, what, _ := strings.Cut(e.Type, ".")
	if e.Kind != "" {
		kind = e.Kind
	}
	var d struct {
		Name    string `json:"name"`
		VMState string `json:"vm_state"`
		Status  string `json:"status"`
	}
	_ = json.Unmarshal(e.Data, &d) // an event without data, or with other fields, is told by its type
	subject := strings.ReplaceAll(kind, "_", " ")
	switch {
	case d.Name != "":
		subject += " " + d.Name
	case e.ID != "":
		subject += " " + shortID(e.ID)
	}
	if state := cmp.Or(d.VMState, d.Status); what == "state" && state != "" {
		return subject + " is " + state
	}
	return subject + " " + strings.ReplaceAll(what, "_", " ")
}

// shortID is the first 8 characters of an ID, as the CLI shows it.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
