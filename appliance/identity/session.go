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

// Session tokens are the dashboard's: besides the token TTL (their absolute expiry) they end after
// Options.SessionIdle without use. Resolve renews them, writing the last use at most once per
// sessionRenewEvery, so a busy session costs one catalog write a minute, not one per request.

// DefaultSessionIdle is how long a session token lives without use when Options.SessionIdle is 0.
const DefaultSessionIdle = 30 * time.Minute

// sessionRenewEvery is how stale a session's recorded last use may get before Resolve writes it
// again: a minute, or a quarter of the idle time when that is shorter.
func (s *Service) sessionRenewEvery() time.Duration {
	return min(time.Minute, s.sessionIdle/4)
}

// AuthenticateSession is Authenticate for a session token (the dashboard's login): one that also
// expires after Options.SessionIdle without use.
func (s *Service) AuthenticateSession(ctx context.Context, username, password, project, source string) (Token, error) {
	return s.authenticate(ctx, username, password, project, source, true)
}

// idleDeadline is when session token t expires unless it is used before; zero for other tokens.
func (s *Service) idleDeadline(t *tokenRecord) time.Time {
	if !t.Session {
		return time.Time{}
	}
	return t.LastUsedAt.Add(s.sessionIdle)
}

// checkTokenExpiry fails with ErrUnauthenticated when t has expired at now, absolutely or idle.
func (s *Service) checkTokenExpiry(t *tokenRecord, now time.Time) error {
	if !now.Before(t.ExpiresAt) {
		return faultf(ErrUnauthenticated, "token expired at %s", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if idle := s.idleDeadline(t); t.Session && !now.Before(idle) {
		return faultf(ErrUnauthenticated, "session expired at %s after %s without use",
			idle.UTC().Format(time.RFC3339), s.sessionIdle)
	}
	return nil
}

// renewSession records that session token id was used at now, when its recorded use is older than
// sessionRenewEvery. A failure is logged, not returned: the token was valid for this request.
func (s *Service) renewSession(id string, now time.Time) {
	err := s.db.Update(func(tx *store.Tx) error {
		t, err := tokens.Get(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil // revoked meanwhile: the next request says so
		}
		if err != nil || now.Sub(t.LastUsedAt) < s.sessionRenewEvery() {
			return err
		}
		t.LastUsedAt = now.UTC()
		return tokens.Update(tx, t)
	})
	if err != nil {
		s.log.Warn("session renewal failed", "token_id", id, "err", err)
	}
}

// Rescope returns a new token for the user of token tokenID scoped to project (ID or name; "" for
// the user's default project): Keystone's rescoping by token. The new token is of the same kind (a
// session or not) and expires no later than the old one, which stays valid. The old token must be
// valid, and the user must hold a role on the project, else the refusal is ErrLoginFailed, as a
// login's is.
func (s *Service) Rescope(ctx context.Context, tokenID, project, source string) (Token, error) {
	var out Token
	err := s.db.Update(func(tx *store.Tx) error {
		old, err := tokens.Get(tx, tokenID)
		if errors.Is(err, store.ErrNotFound) {
			return &loginDenied{reason: "rescope of an unknown token"}
		}
		if err != nil {
			return err
		}
		if err := s.checkTokenExpiry(old, s.now()); err != nil {
			return &loginDenied{reason: "rescope of an expired token"}
		}
		u, err := users.Get(tx, old.UserID)
		if errors.Is(err, store.ErrNotFound) || err == nil && !u.Enabled {
			return &loginDenied{reason: "rescope by a deleted or disabled user"}
		}
		if err != nil {
			return err
		}
		out, err = s.storeToken(tx, u, project, source, old.Session, old.ExpiresAt)
		return err
	})
	var d *loginDenied
	if errors.As(err, &d) {
		s.log.Warn("rescope refused", "user", d.user, "reason", d.reason, "token_id", tokenID, "source", source)
		return Token{}, ErrLoginFailed
	}
	if err != nil {
		return Token{}, fmt.Errorf("rescope token %s: %w", quoteShort(tokenID), err)
	}
	s.log.Info("rescope", "user_id", out.UserID, "project_id", out.ProjectID, "token_id", out.ID,
		"from_token_id", tokenID, "source", source)
	return out, nil
}

// UserProjects lists the enabled projects where user userID holds a role (every enabled project
// for an admin), by name: where its tokens may be rescoped to.
func (s *Service) UserProjects(ctx context.Context, userID string) ([]Project, error) {
	out := []Project{}
	err := s.db.View(func(tx *store.Tx) error {
		ps, err := projects.List(tx, "")
		if err != nil {
			return err
		}
		for _, p := range ps {
			if !p.Enabled {
				continue
			}
			roles, err := effectiveRoles(tx, userID, p.ID)
			if err != nil {
				return err
			}
			if len(roles) > 0 {
				out = append(out, *p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list projects of user %s: %w", quoteShort(userID), err)
	}
	slices.SortFunc(out, func(a, b Project) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
