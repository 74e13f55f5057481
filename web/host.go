package web

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/host"
)

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// hostAnswer is GET /api/v1/host: the host service's facts and what only the server knows.
type hostAnswer struct {
	host.Info
	// TLSFingerprint lets a client check the certificate it was shown on first contact.
	TLSFingerprint string `json:"tls_fingerprint,omitempty"`
}

func (s *Server) hostInfo(c echo.Context) error {
	return c.JSON(http.StatusOK, hostAnswer{Info: s.opts.Host.Info(), TLSFingerprint: s.opts.TLSFingerprint})
}

// hostDoctor runs the doctor's checks in the daemon: what `cloudlet doctor` says, for the dashboard.
func (s *Server) hostDoctor(c echo.Context) error {
	if s.opts.Doctor == nil {
		return fault.New(fault.Unavailable, "the doctor's checks are not available on this server")
	}
	return c.JSON(http.StatusOK, s.opts.Doctor(c.Request().Context()))
}

// backup streams an online copy of the catalog: a consistent bbolt snapshot taken in one read transaction.
func (s *Server) backup(c echo.Context) error {
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "application/octet-stream")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="catalog.db"`)
	res.WriteHeader(http.StatusOK)
	if _, err := s.opts.Backup(res); err != nil {
		return fmt.Errorf("backup catalog: %w", err)
	}
	return nil
}
