package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/identity"
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

// createNetwork authorizes the admin-only parts of the body first (403 naming the action), then
// lets the service check the subnet against the members' ranges unless the caller may use any.
func (s *Server) createNetwork(c echo.Context) error {
	var r network.CreateNetworkRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	p := s.principal(c)
	for _, a := range hostNetworkActions(r) {
		if err := identity.Authorize(p, a); err != nil {
			return err
		}
	}
	r.AnyCIDR = identity.Allowed(p, "network:any_cidr")
	n, err := s.opts.Networks.CreateNetwork(c.Request().Context(), s.project(c), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, n)
}

// hostNetworkActions are the admin-only actions a network request asks for: a network on the
// host's LAN (external, bridged, on a host bridge), a chosen uplink, or sharing it.
func hostNetworkActions(r network.CreateNetworkRequest) []identity.Action {
	var out []identity.Action
	if r.External || r.Kind == network.KindExternal {
		out = append(out, "network:create_external")
	}
	if r.Kind == network.KindBridged || r.Bridge != "" {
		out = append(out, "network:create_bridged")
	}
	if r.Uplink != "" {
		out = append(out, "network:set_uplink")
	}
	if r.Shared {
		out = append(out, "network:share")
	}
	return out
}

// updateNetwork changes what PATCH may change: the name, the subnet (its range checked as a new
// network's), sharing an external network (network:share).
func (s *Server) updateNetwork(c echo.Context) error {
	var r network.UpdateNetworkRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.Shared != nil {
		if err := identity.Authorize(s.principal(c), "network:share"); err != nil {
			return err
		}
	}
	r.AnyCIDR = identity.Allowed(s.principal(c), "network:any_cidr")
	n, err := s.opts.Networks.UpdateNetwork(c.Request().Context(), s.project(c), c.Param("id"), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, n)
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
