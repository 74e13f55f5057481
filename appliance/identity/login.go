package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloudlet/appliance/ratelimit"
	"cloudlet/store"
)

// Authenticate checks a user's password and returns a new token scoped to project (ID or name; ""
// for the user's default project), with its secret, which exists nowhere else. source is the
// caller's address (host or host:port; "" for none), for the per-address rate limit and the log.
//
// Every refusal is ErrLoginFailed with the same message, whether the user is unknown, the password
// wrong, the user or the project disabled or unknown, or the user has no role there; each costs
// one password hash computation, so its timing does not tell either. Too many failures (throttle.go)
// fail with a *RetryError (ErrTooManyRequests) before any hashing.
func (s *Service) Authenticate(ctx context.Context, username, password, project, source string) (Token, error) {
	return s.authenticate(ctx, username, password, project, source, false)
}

// authenticate is Authenticate of a session token (session.go) or an ordinary one.
func (s *Service) authenticate(ctx context.Context, username, password, project, source string, session bool) (Token, error) {
	key, err := s.loginKey(username, source)
	if err != nil {
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	if err := s.allowLogin(key); err != nil {
		return Token{}, err
	}
	u, err := s.checkPassword(ctx, username, password)
	if err == nil {
		var t Token
		if t, err = s.issueToken(u, project, source, session); err == nil {
			s.throttle.succeeded(key)
			s.log.Info("login", "user", u.Name, "project_id", t.ProjectID, "token_id", t.ID, "session", session,
				"source", source)
			return t, nil
		}
	}
	var d *loginDenied
	if !errors.As(err, &d) {
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	if d.user != "" {
		s.log.Warn("login refused", "user", d.user, "reason", d.reason, "source", source)
	} else { // the name might be a password typed in the wrong field: it is not logged
		s.log.Warn("login refused", "reason", d.reason, "source", source)
	}
	return Token{}, ErrLoginFailed
}

// loginDenied is why a login was refused, for the log only; callers get ErrLoginFailed.
type loginDenied struct{ user, reason string }

func (d *loginDenied) Error() string { return d.reason }

// checkPassword returns the user whose name (or ID) and password these are, after exactly one
// password hash computation.
func (s *Service) checkPassword(ctx context.Context, username, password string) (*userRecord, error) {
	var u *userRecord
	err := s.db.View(func(tx *store.Tx) error {
		var err error
		u, err = users.Lookup(tx, "", username)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	hash := s.dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := s.verifyPassword(ctx, hash, password)
	if errors.Is(err, errBadHash) { // a damaged record: refused like the rest, at the same cost
		s.verifyPassword(ctx, s.dummyHash, password)
		s.log.Error("login: stored password hash is damaged: reset the password", "user", u.Name)
		return nil, &loginDenied{user: u.Name, reason: "damaged password hash"}
	}
	switch {
	case err != nil:
		return nil, err
	case u == nil:
		return nil, &loginDenied{reason: "unknown user"}
	case !ok:
		return nil, &loginDenied{user: u.Name, reason: "wrong password"}
	case !u.Enabled:
		return nil, &loginDenied{user: u.Name, reason: "user disabled"}
	}
	return u, nil
}

// issueToken stores a new token for u, checked against the catalog as it is now: the user still
// enabled with the password that was verified, the project enabled, a role on it.
func (s *Service) issueToken(u *userRecord, projectRef, source string, session bool) (Token, error) {
	var out Token
	err := s.db.Update(func(tx *store.Tx) error {
		cur, err := users.Get(tx, u.ID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (!cur.Enabled || cur.PasswordHash != u.PasswordHash) {
			return &loginDenied{user: u.Name, reason: "user changed during login"}
		}
		if err != nil {
			return err
		}
		out, err = s.storeToken(tx, cur, projectRef, source, session, time.Time{})
		return err
	})
	return out, err
}

// storeToken stores a new token of user u for the project ref names, once the user may work there.
// It expires after the token TTL, or at notAfter when that is sooner (zero: no bound).
func (s *Service) storeToken(tx *store.Tx, u *userRecord, projectRef, source string, session bool, notAfter time.Time) (Token, error) {
	now := s.now()
	p, err := loginProject(tx, u, projectRef)
	if err != nil {
		return Token{}, err
	}
	if err := s.pruneTokens(tx, now, u.ID); err != nil {
		return Token{}, err
	}
	expires := now.Add(s.tokenTTL)
	if !notAfter.IsZero() && notAfter.Before(expires) {
		expires = notAfter
	}
	id := store.NewID()
	secret := newSecret(TokenPrefix, id)
	t := &tokenRecord{Meta: store.Meta{ID: id, ProjectID: p.ID}, UserID: u.ID, SecretHash: hashSecret(secret),
		ExpiresAt: expires.UTC(), Source: limitKey(source), Session: session}
	if session {
		t.LastUsedAt = now.UTC()
	}
	if err := tokens.Create(tx, t); err != nil {
		return Token{}, err
	}
	out := tokenView(t)
	out.Secret = secret
	return out, nil
}

// loginProject finds the project a login asks for and checks that u may work in it.
func loginProject(tx *store.Tx, u *userRecord, ref string) (*Project, error) {
	if ref == "" {
		ref = u.DefaultProjectID
	}
	if ref == "" {
		return nil, &loginDenied{user: u.Name, reason: "no project asked and no default project"}
	}
	p, err := projects.Lookup(tx, "", ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &loginDenied{user: u.Name, reason: "unknown project"}
	}
	if err != nil {
		return nil, err
	}
	if !p.Enabled {
		return nil, &loginDenied{user: u.Name, reason: "project " + p.Name + " disabled"}
	}
	roles, err := effectiveRoles(tx, u.ID, p.ID)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return nil, &loginDenied{user: u.Name, reason: "no role on project " + p.Name}
	}
	return p, nil
}

// loginKey is the throttle's key of a login: the user's ID (however the user was named), or the
// name given when there is no such user, at the source's address.
func (s *Service) loginKey(username, source string) (pairKey, error) {
	key := pairKey{user: "name:" + limitKey(username), source: ratelimit.SourceKey(source)}
	err := s.db.View(func(tx *store.Tx) error {
		u, err := users.Lookup(tx, "", username)
		if err == nil {
			key.user = u.ID
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		err = nil
	}
	return key, err
}

// allowLogin applies the throttle (throttle.go). The source's bucket is taken from first, also
// for attempts refused otherwise, so that attempts against a locked user still count for the
// address.
func (s *Service) allowLogin(k pairKey) error {
	sourceOK := k.source == "" || s.sourceLogins.Allow(k.source)
	return s.throttle.begin(k, func(failedBefore bool) error {
		switch {
		case !sourceOK:
			return retryAfter(s.sourceLimit.Every, "too many login attempts from this address")
		case failedBefore && !s.userLogins.Allow(k.user):
			return retryAfter(s.userLimit.Every, "too many failed logins for this user from many addresses")
		}
		return nil
	})
}

// Unlock clears the login lockouts of a user (ID or name) at every address: its next attempts
// start afresh. It is how an admin lets a locked-out user back in before the backoff ends.
func (s *Service) Unlock(ctx context.Context, ref string) error {
	u, err := s.User(ctx, ref)
	if err != nil {
		return fmt.Errorf("unlock user: %w", err)
	}
	n := s.throttle.clearUser(u.ID)
	s.userLogins.Forget(u.ID)
	s.log.Info("login lockout cleared", "user", u.Name, "addresses", n)
	return nil
}

// limitKey bounds a client-chosen key, so the limiter's memory is bounded too.
func limitKey(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max]
	}
	return s
}

// pruneTokens deletes the expired tokens of userID ("" for every user), idle sessions too.
func (s *Service) pruneTokens(tx *store.Tx, now time.Time, userID string) error {
	return tokens.ForEach(tx, func(t *tokenRecord) error {
		if (userID == "" || t.UserID == userID) && s.checkTokenExpiry(t, now) != nil {
			return tokens.Delete(tx, t.ID)
		}
		return nil
	})
}
