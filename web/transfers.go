package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
)

// transferCreated answers POST /api/v1/volumes/{id}/transfer. The auth key is shown this once;
// the service keeps only its hash, which no answer ever shows.
type transferCreated struct {
	TransferID string `json:"transfer_id"`
	AuthKey    string `json:"auth_key"`
}

// acceptRequest is POST /api/v1/volume-transfers/{id}/accept.
type acceptRequest struct {
	AuthKey string `json:"auth_key"`
}

// createTransfer offers a volume to another project; it takes no body (an empty object is fine).
func (s *Server) createTransfer(c echo.Context) error {
	if err := decodeOptionalJSON(c, &struct{}{}); err != nil {
		return err
	}
	id, key, err := s.opts.Volumes.CreateTransfer(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, transferCreated{TransferID: id, AuthKey: key})
}

// acceptTransfer moves the volume into the caller's project.
func (s *Server) acceptTransfer(c echo.Context) error {
	var r acceptRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.AuthKey == "" {
		return fault.New(fault.Invalid, "accept transfer %s: auth_key is required", c.Param("id"))
	}
	v, err := s.opts.Volumes.AcceptTransfer(c.Request().Context(), s.project(c), c.Param("id"), r.AuthKey)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.viewVolume(c, v))
}

// cancelTransfer withdraws a pending transfer of one of the caller's volumes. The service cancels
// by volume, so the transfer is looked up among the caller's volumes first.
func (s *Server) cancelTransfer(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	vs, err := s.opts.Volumes.List(ctx, s.project(c))
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Transfer != nil && v.Transfer.ID == id {
			if err := s.opts.Volumes.CancelTransfer(ctx, s.project(c), v.ID); err != nil {
				return err
			}
			return c.NoContent(http.StatusNoContent)
		}
	}
	return fault.New(fault.NotFound, "transfer %.80q not found", id)
}
