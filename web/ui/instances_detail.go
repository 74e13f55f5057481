package ui

import (
	"io"
	"net/http"
	"slices"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/metering"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/images"
)

// detailTabs are the detail page's own tabs (?tab=), in order; Console and Screen link to the
// console pages.
func detailTabs() []tabLink {
	return []tabLink{{"overview", "Overview"}, {"timeline", "Boot timeline"}, {"addresses", "Addresses"},
		{"volumes", "Volumes"}, {"security-groups", "Security groups"}, {"usage", "Usage"}, {"log", "Console log"}}
}

type tabLink struct{ Name, Label string }

// detailPage is the instance page's data: the instance (as a row, for its state and actions) and
// what the current tab shows. TabError is the API's error for the tab's own read.
type detailPage struct {
	Row      instanceRow
	Tab      string
	Tabs     []tabLink
	Image    *images.Image
	Volumes  []volume.Volume
	Groups   []network.SecurityGroup
	Charts   []chart
	Log      string
	TabError string
}

// Live reports whether the tab follows the instance's events: the cheap ones that show its record.
func (p detailPage) Live() bool {
	return p.Tab == "overview" || p.Tab == "timeline" || p.Tab == "addresses"
}

// consoleLogTail is how much of the console log the Console log tab shows.
const consoleLogTail = 32 << 10

func (s *Server) instanceDetail(w http.ResponseWriter, r *http.Request, sess *session) {
	p, err := s.detail(r, sess)
	if err != nil {
		s.render(w, r, statusOf(err), "instance", sess, detailPage{TabError: errorMessage(err)})
		return
	}
	s.render(w, r, http.StatusOK, "instance", sess, p)
}

// instanceTabFragment serves the current tab's panel alone, which live tabs refetch.
func (s *Server) instanceTabFragment(w http.ResponseWriter, r *http.Request, sess *session) {
	p, err := s.detail(r, sess)
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	s.renderBlock(w, r, http.StatusOK, "instance", "instance-tab-fragment", sess, p)
}

// detail reads the instance and what its ?tab= shows.
func (s *Server) detail(r *http.Request, sess *session) (detailPage, error) {
	row, err := s.row(r, sess, r.PathValue("id"))
	if err != nil {
		return detailPage{}, err
	}
	p := detailPage{Row: row, Tab: r.URL.Query().Get("tab"), Tabs: detailTabs()}
	if !slices.ContainsFunc(p.Tabs, func(t tabLink) bool { return t.Name == p.Tab }) {
		p.Tab = "overview"
	}
	s.loadTab(r, sess, &p)
	return p, nil
}

// loadTab reads what the current tab shows, through the API.
func (s *Server) loadTab(r *http.Request, sess *session, p *detailPage) {
	ctx, api, id := r.Context(), s.api(sess), p.Row.ID
	var err error
	switch p.Tab {
	case "overview":
		if p.Row.ImageID != "" {
			var img images.Image
			if api.Do(ctx, http.MethodGet, "/api/v1/images/"+p.Row.ImageID, nil, &img) == nil {
				p.Image = &img
			}
		}
	case "volumes":
		var all []volume.Volume
		err = api.Do(ctx, http.MethodGet, "/api/v1/volumes", nil, &all)
		for _, v := range all {
			if v.Attachment != nil && v.Attachment.InstanceID == id {
				p.Volumes = append(p.Volumes, v)
			}
		}
	case "security-groups":
		var all []network.SecurityGroup
		err = api.Do(ctx, http.MethodGet, "/api/v1/security-groups", nil, &all)
		p.Groups = groupsOf(p.Row.Instance, all)
	case "usage":
		var st metering.InstanceStats
		if err = api.Do(ctx, http.MethodGet, "/api/v1/instances/"+id+"/stats", nil, &st); err == nil {
			p.Charts = usageCharts(st.Hour)
		}
	case "log":
		p.Log, err = s.consoleLog(r, sess, id)
	}
	if err != nil {
		p.TabError = errorMessage(err)
	}
}

// groupsOf are the security groups the instance asked for (by name or ID), or the default group.
func groupsOf(inst compute.Instance, all []network.SecurityGroup) []network.SecurityGroup {
	want := inst.SecurityGroups
	if len(want) == 0 {
		want = []string{network.DefaultGroup}
	}
	var out []network.SecurityGroup
	for _, g := range all {
		if slices.Contains(want, g.ID) || slices.Contains(want, g.Name) {
			out = append(out, g)
		}
	}
	return out
}

// consoleLog reads the tail of the instance's serial console log.
func (s *Server) consoleLog(r *http.Request, sess *session, id string) (string, error) {
	body, err := s.api(sess).Stream(r.Context(), http.MethodGet, "/api/v1/instances/"+id+"/console-log?bytes=32768")
	if err != nil {
		return "", err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, consoleLogTail))
	return string(b), err
}

// instanceStatusFragment serves the detail page's live state line.
func (s *Server) instanceStatusFragment(w http.ResponseWriter, r *http.Request, sess *session) {
	row, err := s.row(r, sess, r.PathValue("id"))
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	s.renderBlock(w, r, http.StatusOK, "instance", "instance-status-fragment", sess, row)
}
