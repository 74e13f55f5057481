package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/network"
)

func (s *Server) listFloatingIPs(c echo.Context) error {
	out, err := s.opts.Networks.FloatingIPs(c.Request().Context(), s.project(c))
	if err != nil {
		return err
	}
	if out == nil {
		out = []*network.FloatingIP{}
	}
	return c.JSON(http.StatusOK, out)
}

// showFloatingIP takes an id, a name or the address itself.
func (s *Server) showFloatingIP(c echo.Context) error {
	f, err := s.opts.Networks.FloatingIP(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

func (s *Server) createFloatingIP(c echo.Context) error {
	var r network.CreateFloatingIPRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	f, err := s.opts.Networks.CreateFloatingIP(c.Request().Context(), s.project(c), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, f)
}

// updateFloatingIP associates ({"port": "web"}) or disassociates ({"port": ""}).
func (s *Server) updateFloatingIP(c echo.Context) error {
	var r network.UpdateFloatingIPRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	f, err := s.opts.Networks.UpdateFloatingIP(c.Request().Context(), s.project(c), c.Param("id"), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

func (s *Server) deleteFloatingIP(c echo.Context) error {
	if err := s.opts.Networks.DeleteFloatingIP(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
