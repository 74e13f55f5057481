package identity

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"cloudlet/store"
)

// Token is a bearer token as the service shows it. Secret is set only in what Authenticate
// returns: the catalog keeps its hash alone.
type Token struct {
	ID        string    `json:"id"`
	Secret    string    `json:"secret,omitempty"`
	UserID    string    `json:"user_id"`
	ProjectID string    `json:"project_id"`
	Source    string    `json:"source,omitempty"` // the address it was issued to
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"` // the absolute expiry
	// Session marks a dashboard session token, which also expires after some time without use;
	// LastUsedAt is its last recorded use (renewed about once a minute).
	Session    bool       `json:"session,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

func tokenView(t *tokenRecord) Token {
	v := Token{ID: t.ID, UserID: t.UserID, ProjectID: t.ProjectID, Source: t.Source, CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, Session: t.Session}
	if t.Session {
		used := t.LastUsedAt
		v.LastUsedAt = &used
	}
	return v
}

// Tokens lists a user's unexpired tokens (sessions not idle), oldest first, without secrets.
func (s *Service) Tokens(ctx context.Context, userID string) ([]Token, error) {
	now := s.now()
	out := []Token{}
	err := s.db.View(func(tx *store.Tx) error {
		return tokens.ForEach(tx, func(t *tokenRecord) error {
			if t.UserID == userID && s.checkTokenExpiry(t, now) == nil {
				out = append(out, tokenView(t))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens of user %s: %w", quoteShort(userID), err)
	}
	slices.SortFunc(out, func(a, b Token) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// RevokeToken deletes a token of userID ("" for any user's, for admins): Resolve refuses it from
// then on. Another user's token is not found.
func (s *Service) RevokeToken(ctx context.Context, userID, tokenID string) error {
	if !store.IsID(tokenID) { // maybe a secret pasted by mistake: never echo it
		return faultf(ErrNotFound, "revoke token: not a token ID")
	}
	err := s.db.Update(func(tx *store.Tx) error {
		t, err := tokens.Get(tx, tokenID)
		if err != nil {
			return err
		}
		if userID != "" && t.UserID != userID {
			return faultf(ErrNotFound, "token %s not found", quoteShort(tokenID))
		}
		return tokens.Delete(tx, t.ID)
	})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// PruneTokens deletes every expired token and returns how many went. Authenticate prunes the
// tokens of the user logging in; the daemon may call this now and then for the rest.
func (s *Service) PruneTokens(ctx context.Context) (int, error) {
	var before, after int
	err := s.db.Update(func(tx *store.Tx) error {
		var err error
		if before, err = tokens.Count(tx, ""); err != nil {
			return err
		}
		if err := s.pruneTokens(tx, s.now(), ""); err != nil {
			return err
		}
		after, err = tokens.Count(tx, "")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune tokens: %w", err)
	}
	return before - after, nil
}

// revokeTokens deletes the tokens of a user (userID) or scoped to a project (projectID).
func revokeTokens(tx *store.Tx, userID, projectID string) error {
	return tokens.ForEach(tx, func(t *tokenRecord) error {
		if userID != "" && t.UserID == userID || projectID != "" && t.ProjectID == projectID {
			return tokens.Delete(tx, t.ID)
		}
		return nil
	})
}
