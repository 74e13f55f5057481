package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// roleAssignmentPath is PUT (assign) and DELETE (unassign) of one role of a user on a project.
const roleAssignmentPath = "/api/v1/projects/:project/users/:user/roles/:role"

// listRoleAssignments serves GET /api/v1/role-assignments?user=&project= (IDs or names; both optional).
func (s *Server) listRoleAssignments(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	out, err := ids.RoleAssignments(c.Request().Context(), c.QueryParam("user"), c.QueryParam("project"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) assignRole(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	if _, err := ids.Assign(c.Request().Context(), c.Param("user"), c.Param("project"), c.Param("role")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) unassignRole(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	if err := ids.Unassign(c.Request().Context(), c.Param("user"), c.Param("project"), c.Param("role")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
