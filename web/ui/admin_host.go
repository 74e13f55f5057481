package ui

import (
	"net/http"

	"cloudlet/appliance/host"
	"cloudlet/appliance/metering"
)

func (s *Server) registerAdminHost() {
	s.handle(http.MethodGet, "/admin/host", s.withSession(s.adminHost))
}

// hostView is what the API says of the host: its facts (GET /api/v1/host), its usage when the
// daemon samples it (GET /api/v1/host/stats), and the doctor's checks, which the daemon runs.
type hostView struct {
	Info struct {
		host.Info
		TLSFingerprint string `json:"tls_fingerprint,omitempty"`
	}
	Stats       *metering.HostStats // nil when sampling is off
	StatsError  string
	Checks      []host.Check // the doctor's, run by the daemon (GET /api/v1/host/doctor)
	ChecksError string
}

// TCG reports whether guests run under software emulation (no KVM): slow.
func (h *hostView) TCG() bool { return h.Info.Accel == "tcg" }

// DiskUsed is the data dir filesystem's used bytes.
func (h *hostView) DiskUsed() int64 { return int64(h.Info.Disk.TotalBytes - h.Info.Disk.FreeBytes) }

// DiskTotal is the data dir filesystem's size.
func (h *hostView) DiskTotal() int64 { return int64(h.Info.Disk.TotalBytes) }

// MemoryTotal is the host's memory.
func (h *hostView) MemoryTotal() int64 { return int64(h.Stats.MemoryTotalBytes) }

// MemoryUsed is the host's memory in use.
func (h *hostView) MemoryUsed() int64 {
	return int64(h.Stats.MemoryTotalBytes - h.Stats.MemoryAvailableBytes)
}

// readHost reads the host's facts; its usage is optional (the API answers 503 when sampling is off).
func (s *Server) readHost(r *http.Request, sess *session) (*hostView, error) {
	h := &hostView{}
	if err := s.callAs(r, sess, http.MethodGet, "/api/v1/host", nil, &h.Info); err != nil {
		return nil, err
	}
	var st metering.HostStats
	if err := s.callAs(r, sess, http.MethodGet, "/api/v1/host/stats", nil, &st); err != nil {
		h.StatsError = messageOf(err)
	} else {
		h.Stats = &st
	}
	if err := s.callAs(r, sess, http.MethodGet, "/api/v1/host/doctor", nil, &h.Checks); err != nil {
		h.ChecksError = messageOf(err)
	}
	return h, nil
}

// hostData is the host page.
type hostData struct {
	pageErrors
	Host *hostView
}

func (s *Server) adminHost(w http.ResponseWriter, r *http.Request, sess *session) {
	var d hostData
	var err error
	d.Host, err = s.readHost(r, sess)
	s.renderPage(w, r, sess, "admin_host", http.StatusOK, err, &d.pageErrors, &d)
}
