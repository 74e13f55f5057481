package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/network"
)

type securityGroupRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (s *Server) listSecurityGroups(c echo.Context) error {
	out, err := s.opts.Networks.SecurityGroups(c.Request().Context(), s.project(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) showSecurityGroup(c echo.Context) error {
	g, err := s.opts.Networks.SecurityGroup(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

func (s *Server) createSecurityGroup(c echo.Context) error {
	var r securityGroupRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	g, err := s.opts.Networks.CreateSecurityGroup(c.Request().Context(), s.project(c), r.Name, r.Description)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, g)
}

func (s *Server) deleteSecurityGroup(c echo.Context) error {
	if err := s.opts.Networks.DeleteSecurityGroup(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) addSecurityGroupRule(c echo.Context) error {
	var r network.Rule
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	g, err := s.opts.Networks.AddRule(c.Request().Context(), s.project(c), c.Param("id"), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, g)
}

func (s *Server) deleteSecurityGroupRule(c echo.Context) error {
	if err := s.opts.Networks.DeleteRule(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// updateSecurityGroup renames a group or changes its description.
func (s *Server) updateSecurityGroup(c echo.Context) error {
	var r network.UpdateSecurityGroupRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	g, err := s.opts.Networks.UpdateSecurityGroup(c.Request().Context(), s.project(c), c.Param("id"), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}
