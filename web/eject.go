package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// ejectInstance serves POST /api/v1/instances/{id}/eject: the instance's CD-ROM drives are emptied,
// live or in the record of a stopped instance, and the instance is returned. It reads no body.
func (s *Server) ejectInstance(c echo.Context) error {
	inst, err := s.opts.Compute.Eject(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inst)
}
