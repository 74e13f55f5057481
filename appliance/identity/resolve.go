package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloudlet/store"
)

// How a principal authenticated.
const (
	ViaToken      = "token"
	ViaCredential = "credential"
)

// Principal is who is calling, as Resolve found it: a user acting in one project with some roles.
type Principal struct {
	UserID      string   `json:"user_id"`
	UserName    string   `json:"user_name"`
	ProjectID   string   `json:"project_id"`
	ProjectName string   `json:"project_name"`
	Roles       []string `json:"roles"`    // most powerful first
	IsAdmin     bool     `json:"is_admin"` // Roles holds admin: the principal may act on every project
	Via         string   `json:"via"`      // ViaToken or ViaCredential

	TokenID      string `json:"token_id,omitempty"`      // Via is ViaToken
	CredentialID string `json:"credential_id,omitempty"` // Via is ViaCredential

	// AllowedActions, from an application credential, narrows what Roles allow; nil allows
	// whatever they do.
	AllowedActions []Action   `json:"allowed_actions,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"` // nil: a credential that never expires
}

// maxBearerLen bounds what Resolve reads of a bearer string.
const maxBearerLen = 256

// Resolve returns the principal of a bearer secret: a token from Authenticate or an application
// credential's secret. It fails with ErrUnauthenticated when the secret is malformed, unknown,
// expired or revoked, its user or project is disabled, or its user no longer holds the roles it
// carries (a token needs at least one role on its project; a credential all of its roles). Each
// check reads the catalog, so a revocation or a change takes effect at the next request.
func (s *Service) Resolve(ctx context.Context, bearer string) (Principal, error) {
	if len(bearer) > maxBearerLen {
		return Principal{}, faultf(ErrUnauthenticated, "malformed bearer token")
	}
	switch {
	case strings.HasPrefix(bearer, TokenPrefix):
		return s.resolveToken(bearer)
	case strings.HasPrefix(bearer, CredentialPrefix):
		return s.resolveCredential(bearer)
	}
	return Principal{}, faultf(ErrUnauthenticated, "malformed bearer token: want a token (%s…) or an application credential (%s…)",
		TokenPrefix, CredentialPrefix)
}

func (s *Service) resolveToken(bearer string) (Principal, error) {
	id, ok := secretID(bearer, TokenPrefix)
	if !ok {
		return Principal{}, faultf(ErrUnauthenticated, "invalid or revoked token")
	}
	return s.tokenPrincipal(id, func(t *tokenRecord) bool { return secretMatches(t.SecretHash, bearer) })
}

// tokenPrincipal is the principal of token id when it is known, matches and has neither expired
// (a session: nor idled out) nor lost its user's, project's or roles' standing. A session's use is
// recorded (renewed) when its last recorded use is stale.
func (s *Service) tokenPrincipal(id string, matches func(*tokenRecord) bool) (Principal, error) {
	invalid := faultf(ErrUnauthenticated, "invalid or revoked token")
	now := s.now()
	var p Principal
	var renew bool
	err := s.db.View(func(tx *store.Tx) error {
		t, err := tokens.Get(tx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && !matches(t) {
			return invalid
		}
		if err != nil {
			return err
		}
		if err := s.checkTokenExpiry(t, now); err != nil {
			return err
		}
		if p, err = principalOf(tx, t.UserID, t.ProjectID); err != nil {
			return err
		}
		expires := t.ExpiresAt
		p.Via, p.TokenID, p.ExpiresAt = ViaToken, t.ID, &expires
		renew = t.Session && now.Sub(t.LastUsedAt) >= s.sessionRenewEvery()
		return nil
	})
	if err != nil {
		return Principal{}, resolveError("token", err)
	}
	if renew {
		s.renewSession(id, now)
	}
	return p, nil
}

func (s *Service) resolveCredential(bearer string) (Principal, error) {
	id, ok := secretID(bearer, CredentialPrefix)
	if !ok {
		return Principal{}, faultf(ErrUnauthenticated, "invalid or revoked application credential")
	}
	return s.credentialPrincipal(id, func(c *credentialRecord) bool { return secretMatches(c.SecretHash, bearer) })
}

// credentialPrincipal is the principal of application credential id when it is known, matches and has
// neither expired nor lost its user's, project's or roles' standing.
func (s *Service) credentialPrincipal(id string, matches func(*credentialRecord) bool) (Principal, error) {
	invalid := faultf(ErrUnauthenticated, "invalid or revoked application credential")
	now := s.now()
	var p Principal
	err := s.db.View(func(tx *store.Tx) error {
		c, err := credentials.Get(tx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && !matches(c) {
			return invalid
		}
		if err != nil {
			return err
		}
		if c.ExpiresAt != nil && !now.Before(*c.ExpiresAt) {
			return faultf(ErrUnauthenticated, "application credential expired at %s", c.ExpiresAt.UTC().Format(time.RFC3339))
		}
		if p, err = principalOf(tx, c.UserID, c.ProjectID); err != nil {
			return err
		}
		for _, r := range c.Roles {
			if !slices.Contains(p.Roles, r) {
				return faultf(ErrUnauthenticated, "application credential %s carries role %s, which its user no longer holds", c.ID, r)
			}
		}
		p.Roles, p.IsAdmin = slices.Clone(c.Roles), slices.Contains(c.Roles, RoleAdmin)
		p.Via, p.CredentialID, p.ExpiresAt = ViaCredential, c.ID, c.ExpiresAt
		if len(c.AllowedActions) > 0 {
			p.AllowedActions = slices.Clone(c.AllowedActions)
		}
		return nil
	})
	if err != nil {
		return Principal{}, resolveError("application credential", err)
	}
	return p, nil
}

// Recheck checks again, by its ID, the token or application credential p was resolved from, as Resolve
// checks it: for a holder that no longer presents the secret (a console ticket redeemed seconds after
// it was issued). A revoked or expired one, or a user, project or role gone since, fails with
// ErrUnauthenticated. A transport-trusted principal (neither) passes.
func (s *Service) Recheck(_ context.Context, p Principal) error {
	var err error
	switch {
	case p.TokenID != "":
		_, err = s.tokenPrincipal(p.TokenID, func(*tokenRecord) bool { return true })
	case p.CredentialID != "":
		_, err = s.credentialPrincipal(p.CredentialID, func(*credentialRecord) bool { return true })
	}
	return err
}

// principalOf builds the principal of a user in a project, both enabled, from its current roles.
func principalOf(tx *store.Tx, userID, projectID string) (Principal, error) {
	u, err := users.Get(tx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, faultf(ErrUnauthenticated, "user deleted")
	}
	if err != nil {
		return Principal{}, err
	}
	p, err := projects.Get(tx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, faultf(ErrUnauthenticated, "project deleted")
	}
	if err != nil {
		return Principal{}, err
	}
	switch {
	case !u.Enabled:
		return Principal{}, faultf(ErrUnauthenticated, "user %s is disabled", u.Name)
	case !p.Enabled:
		return Principal{}, faultf(ErrUnauthenticated, "project %s is disabled", p.Name)
	}
	roles, err := effectiveRoles(tx, u.ID, p.ID)
	if err != nil {
		return Principal{}, err
	}
	if len(roles) == 0 {
		return Principal{}, faultf(ErrUnauthenticated, "user %s has no role on project %s", u.Name, p.Name)
	}
	return Principal{UserID: u.ID, UserName: u.Name, ProjectID: p.ID, ProjectName: p.Name,
		Roles: roles, IsAdmin: slices.Contains(roles, RoleAdmin)}, nil
}

// resolveError keeps authentication failures as they are (their messages name no secret) and
// wraps catalog failures.
func resolveError(what string, err error) error {
	if errors.Is(err, ErrUnauthenticated) {
		return err
	}
	return fmt.Errorf("resolve %s: %w", what, err)
}
