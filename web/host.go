package web

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) hostInfo(c echo.Context) error {
	return c.JSON(http.StatusOK, s.opts.Host.Info())
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
