package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/network"
)

func (s *Server) listNetworks(c echo.Context) error {
	out, err := s.opts.Networks.Networks(c.Request().Context(), s.project(c))
	if err != nil {
		return err
	}
	if out == nil {
		out = []*network.Network{}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) showNetwork(c echo.Context) error {
	n, err := s.opts.Networks.Network(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, n)
}

func (s *Server) createNetwork(c echo.Context) error {
	var r network.CreateNetworkRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	n, err := s.opts.Networks.CreateNetwork(c.Request().Context(), s.project(c), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, n)
}

func (s *Server) deleteNetwork(c echo.Context) error {
	if err := s.opts.Networks.DeleteNetwork(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listPorts(c echo.Context) error {
	out, err := s.opts.Networks.Ports(c.Request().Context(), s.project(c))
	if err != nil {
		return err
	}
	if out == nil {
		out = []*network.Port{}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) showPort(c echo.Context) error {
	p, err := s.opts.Networks.Port(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) createPort(c echo.Context) error {
	var r network.CreatePortRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	p, err := s.opts.Networks.CreatePort(c.Request().Context(), s.project(c), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

func (s *Server) updatePort(c echo.Context) error {
	var r network.UpdatePortRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	p, err := s.opts.Networks.UpdatePort(c.Request().Context(), s.project(c), c.Param("id"), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) deletePort(c echo.Context) error {
	if err := s.opts.Networks.DeletePort(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
