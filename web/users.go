package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

type createUserRequest struct {
	Name           string `json:"name"`
	Email          string `json:"email"`
	Password       string `json:"password"`
	Enabled        *bool  `json:"enabled"` // absent: enabled
	DefaultProject string `json:"default_project"`
}

type updateUserRequest struct {
	Email          *string `json:"email"`
	Password       *string `json:"password"`
	Enabled        *bool   `json:"enabled"`
	DefaultProject *string `json:"default_project"`
}

func (s *Server) listUsers(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	out, err := ids.Users(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) createUser(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	var r createUserRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	u, err := ids.CreateUser(c.Request().Context(), identity.UserSpec{Name: r.Name, Email: r.Email,
		Password: r.Password, Enabled: r.Enabled == nil || *r.Enabled, DefaultProject: r.DefaultProject})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

// showUser shows a user: any to admins, only themselves to the rest (others are not found).
func (s *Server) showUser(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	u, err := ids.User(c.Request().Context(), c.Param("id"))
	if err == nil && !s.isAdmin(c) && u.ID != s.principal(c).UserID {
		err = fault.New(fault.NotFound, "user %q not found", c.Param("id"))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (s *Server) updateUser(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	var r updateUserRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	u, err := ids.UpdateUser(c.Request().Context(), c.Param("id"), identity.UserUpdate{Email: r.Email,
		Password: r.Password, Enabled: r.Enabled, DefaultProject: r.DefaultProject})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (s *Server) deleteUser(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	if err := ids.DeleteUser(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// resetPassword answers {"password": …}, the new password, shown this once.
func (s *Server) resetPassword(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	pw, err := ids.ResetPassword(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"password": pw})
}

// unlockUser clears a user's login lockouts at every address (an admin letting it back in).
func (s *Server) unlockUser(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	if err := ids.Unlock(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
