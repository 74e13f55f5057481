package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/identity"
	"cloudlet/appliance/network"
)

func (s *Server) listPortForwards(c echo.Context) error {
	out, err := s.opts.Networks.PortForwards(c.Request().Context(), s.project(c))
	if err != nil {
		return err
	}
	if out == nil {
		out = []*network.PortForward{}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) showPortForward(c echo.Context) error {
	pf, err := s.opts.Networks.PortForward(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pf)
}

func (s *Server) createPortForward(c echo.Context) error {
	var r network.CreatePortForwardRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	r.AnyHostPort = identity.Allowed(s.principal(c), "port_forward:any_host_port") // else the members' range
	pf, err := s.opts.Networks.CreatePortForward(c.Request().Context(), s.project(c), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, pf)
}

func (s *Server) deletePortForward(c echo.Context) error {
	if err := s.opts.Networks.DeletePortForward(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
