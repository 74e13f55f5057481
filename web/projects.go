package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

type createProjectRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type updateProjectRequest struct {
	Description *string `json:"description"`
	Enabled     *bool   `json:"enabled"`
}

func (s *Server) listProjects(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	out, err := ids.Projects(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) createProject(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	var r createProjectRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	p, err := ids.CreateProject(c.Request().Context(), r.Name, r.Description)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

// showProject shows a project: any to admins, only their own to the rest (others are not found).
func (s *Server) showProject(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	p, err := ids.Project(c.Request().Context(), c.Param("id"))
	if err == nil && !s.isAdmin(c) && p.ID != s.project(c) {
		err = fault.New(fault.NotFound, "project %q not found", c.Param("id"))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) updateProject(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	var r updateProjectRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	p, err := ids.UpdateProject(c.Request().Context(), c.Param("id"),
		identity.ProjectUpdate{Description: r.Description, Enabled: r.Enabled})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) deleteProject(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	if err := ids.DeleteProject(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
