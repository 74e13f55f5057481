package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
)

func (s *Server) listFlavors(c echo.Context) error {
	out, err := s.opts.Compute.Flavors(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) showFlavor(c echo.Context) error {
	f, err := s.opts.Compute.Flavor(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

func (s *Server) createFlavor(c echo.Context) error {
	var f compute.Flavor
	if err := decodeJSON(c, &f); err != nil {
		return err
	}
	out, err := s.opts.Compute.CreateFlavor(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

func (s *Server) deleteFlavor(c echo.Context) error {
	if err := s.opts.Compute.DeleteFlavor(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listInstances serves the caller's instances: the catalog's stored records copied into one array
// (compute.ListJSON), the same bytes c.JSON of the decoded list writes (?pretty too), at a fraction
// of the cost for thousands of instances.
func (s *Server) listInstances(c echo.Context) error {
	out, err := s.opts.Compute.ListJSON(c.Request().Context(), s.project(c))
	if err != nil {
		return err
	}
	return jsonBlob(c, http.StatusOK, out)
}

// showInstance serves an instance's record with what its guest agent last said (guest_agent).
func (s *Server) showInstance(c echo.Context) error {
	inst, err := s.opts.Compute.Show(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, inst)
}

func (s *Server) createInstance(c echo.Context) error {
	var r compute.CreateRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	// The creator is recorded (Nova's user_id); a keypair is looked up among the caller's own.
	r.ProjectID, r.UserID = s.project(c), s.principal(c).UserID
	if r.KeyName != "" {
		uid, err := s.userID(c)
		if err != nil {
			return err
		}
		r.UserID = uid
	}
	inst, err := s.opts.Compute.Create(c.Request().Context(), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, inst)
}

func (s *Server) deleteInstance(c echo.Context) error {
	inst, err := s.opts.Compute.Delete(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, inst)
}

// instanceAction serves POST /api/v1/instances/{id}/{action}; the body (optional) carries arguments.
func (s *Server) instanceAction(c echo.Context) error {
	a, ok := compute.ParseAction(c.Param("action"))
	if !ok {
		return fault.New(fault.NotFound, "unknown instance action %q (known: %v)", c.Param("action"), compute.Actions())
	}
	var args compute.ActionArgs
	if c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &args); err != nil {
			return err
		}
	}
	inst, err := s.opts.Compute.Act(c.Request().Context(), s.project(c), c.Param("id"), a, args)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, inst)
}

// consoleLog serves the tail of the serial console log as text; ?bytes=N limits it.
func (s *Server) consoleLog(c echo.Context) error {
	var limit int64 = 64 << 10
	if v := c.QueryParam("bytes"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fault.New(fault.Invalid, "bytes must be a positive integer")
		}
		limit = n
	}
	data, err := s.opts.Compute.ConsoleLog(c.Request().Context(), s.project(c), c.Param("id"), limit)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", data)
}
