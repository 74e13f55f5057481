package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

// createCredentialRequest is POST /api/v1/credentials; project "" is the caller's.
type createCredentialRequest struct {
	Name           string            `json:"name"`
	Description    string            `json:"description"`
	Project        string            `json:"project"`
	Roles          []string          `json:"roles"`
	AllowedActions []identity.Action `json:"allowed_actions"`
	ExpiresAt      *time.Time        `json:"expires_at"`
}

// listCredentials lists the caller's own application credentials.
func (s *Server) listCredentials(c echo.Context) error {
	ids, uid, err := s.callerIdentity(c)
	if err != nil {
		return err
	}
	out, err := ids.Credentials(c.Request().Context(), uid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// createCredential makes an application credential of the caller; its secret is shown this once.
func (s *Server) createCredential(c echo.Context) error {
	var r createCredentialRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	ids, uid, err := s.callerIdentity(c)
	if err != nil {
		return err
	}
	spec := identity.CredentialSpec{Name: r.Name, Description: r.Description, Project: r.Project, Roles: r.Roles,
		AllowedActions: r.AllowedActions}
	if spec.Project == "" {
		spec.Project = s.project(c)
	}
	if r.ExpiresAt != nil {
		spec.ExpiresAt = *r.ExpiresAt
	}
	out, err := ids.CreateCredential(c.Request().Context(), uid, spec)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

// showCredential shows one of the caller's credentials (an admin's: anyone's, by ID).
func (s *Server) showCredential(c echo.Context) error {
	var out identity.Credential
	err := s.eachCredentialOwner(c, func(ids *identity.Service, owner string) error {
		var err error
		out, err = ids.Credential(c.Request().Context(), owner, c.Param("id"))
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) revokeCredential(c echo.Context) error {
	err := s.eachCredentialOwner(c, func(ids *identity.Service, owner string) error {
		return ids.RevokeCredential(c.Request().Context(), owner, c.Param("id"))
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// eachCredentialOwner runs fn with the user whose credentials the reference is looked up among,
// until one finds it: for an admin, anyone's ("", which only IDs reach, names being unique per
// user), then its own; for the rest, their own only.
func (s *Server) eachCredentialOwner(c echo.Context, fn func(ids *identity.Service, owner string) error) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	if s.isAdmin(c) {
		if err := fn(ids, ""); fault.KindOf(err) != fault.NotFound {
			return err
		}
	}
	uid, err := s.userID(c)
	if err != nil {
		return err
	}
	return fn(ids, uid)
}
