package ui

import (
	"fmt"
	"net/http"

	"cloudlet/appliance/host"
	"cloudlet/appliance/metering"
)

func (s *Server) registerAdminHost() {
	s.handle(http.MethodGet, "/admin/host", s.withSession(s.adminHost))
}

// hostView is what the API says of the host: its facts (GET /api/v1/host), its usage when the
// daemon samples it (GET /api/v1/host/stats), and the doctor's checks those facts answer.
type hostView struct {
	Info struct {
		host.Info
		TLSFingerprint string `json:"tls_fingerprint,omitempty"`
	}
	Stats      *metering.HostStats // nil when sampling is off
	StatsError string
	Checks     []host.Check
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
	h.Checks = hostChecks(h.Info.Facts)
	return h, nil
}

// hostChecks are the doctor's checks that the host's facts answer: the QEMU tools and the
// accelerator. The others probe the host itself and run only there (cloudlet doctor).
func hostChecks(f host.Facts) []host.Check {
	checks := []host.Check{
		toolCheck(host.QEMUBinary, f.QEMU, "apt-get install qemu-system-x86"),
		toolCheck(host.QEMUImgBinary, f.QEMUImg, "apt-get install qemu-utils"),
	}
	accel := host.Check{Name: "acceleration", Status: host.OK, Detail: f.Accel + " (/dev/kvm usable)"}
	if f.Accel != "kvm" {
		accel.Status, accel.Detail = host.Warn, f.Accel+": guests run under software emulation, slowly"
		if f.AccelWarning != "" {
			accel.Detail = fmt.Sprintf("%s: %s", f.Accel, f.AccelWarning)
		}
		accel.Hint = "enable KVM on this host (on a VM host: nested virtualization) and use accel auto"
	}
	return append(checks, accel)
}

// toolCheck says whether the daemon found program name (t) and its version.
func toolCheck(name string, t host.Tool, hint string) host.Check {
	c := host.Check{Name: name, Status: host.OK, Detail: fmt.Sprintf("%s version %s", t.Path, t.Version)}
	switch {
	case t.Error != "":
		c.Status, c.Detail, c.Hint = host.Fail, t.Error, hint
	case t.Path == "":
		c.Status, c.Detail, c.Hint = host.Fail, name+" not found", hint
	}
	return c
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
