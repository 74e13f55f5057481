package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/identity"
)

// createKeypairRequest is POST /api/v1/keypairs: a public key to import, or none to generate one.
type createKeypairRequest struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
}

// Keypairs are the caller's own, admin or not: a keypair is a user's, not a project's.

func (s *Server) listKeypairs(c echo.Context) error {
	ids, uid, err := s.callerIdentity(c)
	if err != nil {
		return err
	}
	out, err := ids.Keypairs(c.Request().Context(), uid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// createKeypair imports or generates a keypair; a generated one comes back with its private key,
// shown this once. The caller's project's keypairs quota applies.
func (s *Server) createKeypair(c echo.Context) error {
	var r createKeypairRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	ids, uid, err := s.callerIdentity(c)
	if err != nil {
		return err
	}
	k, err := ids.CreateKeypair(c.Request().Context(), identity.KeypairSpec{UserID: uid, ProjectID: s.project(c),
		Name: r.Name, PublicKey: r.PublicKey})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, k)
}

func (s *Server) showKeypair(c echo.Context) error {
	ids, uid, err := s.callerIdentity(c)
	if err != nil {
		return err
	}
	k, err := ids.Keypair(c.Request().Context(), uid, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, k)
}

func (s *Server) deleteKeypair(c echo.Context) error {
	ids, uid, err := s.callerIdentity(c)
	if err != nil {
		return err
	}
	if err := ids.DeleteKeypair(c.Request().Context(), uid, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
