package web

import (
	"encoding/json"
	"strings"
	"testing"

	"cloudlet/store"
)

// TestDashboardEventStreamNamesEachVolumeChange: a volume's events reach the session's stream as
// volume-<id> (its page) and volume-changed (the list), after an instance's, in order; another
// project's volume never does.
func TestDashboardEventStreamNamesEachVolumeChange(t *testing.T) {
	sf := newStreamFixture(t, Limits{}, EventStreamOptions{})
	st := uiStream(t, sf, loginCookie(t, sf, "member", "pa"), "")
	volumeEvent := func(project, id string) uint64 {
		e := &store.Event{Type: "volume.state", Kind: "volume", ID: id, ProjectID: sf.projects[project], Data: json.RawMessage(`{}`)}
		if err := sf.db.Update(func(tx *store.Tx) error { return store.AppendEvent(tx, e) }); err != nil {
			t.Fatal(err)
		}
		return e.Seq
	}
	volumeEvent("pb", "other-project")
	seq := volumeEvent("pa", "v1")
	for _, want := range []string{"volume-v1", "volume-changed"} {
		if e := next(t, st); e.Type != want || e.Seq != seq || !strings.Contains(string(e.Data), `"id":"v1"`) {
			t.Fatalf("event %d %s %s, want %d %s for v1", e.Seq, e.Type, e.Data, seq, want)
		}
	}
}

// TestDashboardVolumePagesRefetchOnTheirEvents: the list's table and a volume's properties are fetched
// again on the stream's events, by wrappers that stay (a queued refetch is not lost with its element).
func TestDashboardVolumePagesRefetchOnTheirEvents(t *testing.T) {
	f := newAuthFixture(t)
	rec := f.do("POST", "/api/v1/volumes", f.tokens["member"], `{"name":"live","size_gib":1}`)
	var v struct{ ID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.ID == "" {
		t.Fatalf("create volume = %d %s", rec.Code, rec.Body)
	}
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/volumes")
	mustContain(t, "the volumes list", b.do("GET", "/volumes", nil).Body.String(),
		`id="volumes-live" hx-get="/volumes" hx-select="#volumes" hx-target="#volumes"`, `hx-trigger="sse:volume-changed`)
	mustContain(t, "the volume's page", b.do("GET", "/volumes/"+v.ID, nil).Body.String(),
		`id="volume-live"`, `hx-select="#volume" hx-target="#volume"`, `hx-trigger="sse:volume-`+v.ID)
}
