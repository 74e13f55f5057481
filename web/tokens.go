package web

import (
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

// identityService is the identity service, or a 503 when the server has none.
func (s *Server) identityService() (*identity.Service, error) {
	if s.opts.Identity == nil {
		return nil, fault.New(fault.Unavailable, "identity is not configured on this server")
	}
	return s.opts.Identity, nil
}

// userID is the caller's user. Transport-trusted admins have none: what they own belongs to user admin.
func (s *Server) userID(c echo.Context) (string, error) {
	if id := s.principal(c).UserID; id != "" {
		return id, nil
	}
	ids, err := s.identityService()
	if err != nil {
		return "", err
	}
	u, err := ids.User(c.Request().Context(), identity.AdminName)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// callerIdentity is the identity service and the caller's user, for the caller's own tokens, keys and
// keypairs.
func (s *Server) callerIdentity(c echo.Context) (*identity.Service, string, error) {
	ids, err := s.identityService()
	if err != nil {
		return nil, "", err
	}
	uid, err := s.userID(c)
	return ids, uid, err
}

// ownerFilter is the user whose things the caller may see by ID: its own, or anyone's ("") for admins.
func (s *Server) ownerFilter(c echo.Context) (string, error) {
	if s.isAdmin(c) {
		return "", nil
	}
	return s.userID(c)
}

// loginRequest is POST /api/v1/auth/tokens: a password login, or with a bearer token and no
// username or password a rescope of that token to Project. Session asks for a session token
// (the dashboard's: it also expires when idle).
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Project  string `json:"project"`
	Session  bool   `json:"session"`
}

// tokenResponse is a new token; Token, the secret, is shown this once.
type tokenResponse struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	UserID    string    `json:"user_id"`
	ProjectID string    `json:"project_id"`
	Session   bool      `json:"session,omitempty"`
}

// createToken logs in with a password, or rescopes the caller's token. Every refusal is identity's
// one message (401), or 429.
func (s *Server) createToken(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	var r loginRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.Username == "" && r.Password == "" && bearer(c.Request()) != "" {
		return s.rescopeToken(c, ids, r.Project)
	}
	c.Set(loginUserKey, r.Username) // for the audit entry; never the password
	login := ids.Authenticate
	if r.Session {
		login = ids.AuthenticateSession
	}
	t, err := login(c.Request().Context(), r.Username, r.Password, r.Project, clientAddress(c.Request()))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newTokenResponse(t))
}

// rescopeToken answers a new token of the caller's for project (Keystone's rescoping by token). It
// needs a token (an application credential may not make tokens) and a role on the project. The
// audit entry names the caller, as a token's.
func (s *Server) rescopeToken(c echo.Context, ids *identity.Service, project string) error {
	p, err := s.authenticate(c.Request())
	if err != nil {
		return err
	}
	c.Set(principalKeyName, p)
	if err := identity.Authorize(p, "token:create"); err != nil {
		return err
	}
	t, err := ids.Rescope(c.Request().Context(), p.TokenID, project, clientAddress(c.Request()))
	if err != nil {
		return err
	}
	c.Set(projectKeyName, t.ProjectID)
	return c.JSON(http.StatusCreated, newTokenResponse(t))
}

func newTokenResponse(t identity.Token) tokenResponse {
	return tokenResponse{ID: t.ID, Token: t.Secret, ExpiresAt: t.ExpiresAt, UserID: t.UserID,
		ProjectID: t.ProjectID, Session: t.Session}
}

// listAuthProjects lists the projects the caller may rescope its token to: enabled, with a role there.
func (s *Server) listAuthProjects(c echo.Context) error {
	ids, uid, err := s.callerIdentity(c)
	if err != nil {
		return err
	}
	out, err := ids.UserProjects(c.Request().Context(), uid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// clientAddress is the peer's IP for login rate limits: the TCP peer, never a forwarding header a
// client could forge; "" on the unix socket.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || net.ParseIP(host) == nil {
		return ""
	}
	return host
}

// listTokens lists the caller's unexpired tokens, without secrets.
func (s *Server) listTokens(c echo.Context) error {
	ids, uid, err := s.callerIdentity(c)
	if err != nil {
		return err
	}
	out, err := ids.Tokens(c.Request().Context(), uid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// revokeToken revokes one of the caller's tokens (an admin: anyone's).
func (s *Server) revokeToken(c echo.Context) error {
	ids, err := s.identityService()
	if err != nil {
		return err
	}
	owner, err := s.ownerFilter(c)
	if err != nil {
		return err
	}
	if err := ids.RevokeToken(c.Request().Context(), owner, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
