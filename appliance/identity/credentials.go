package identity

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"cloudlet/store"
)

// Credential is an application credential (an API key) as the service shows it. Secret is set
// only in what CreateCredential returns: the catalog keeps its hash alone.
type Credential struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Description    string     `json:"description,omitempty"`
	UserID         string     `json:"user_id"`
	ProjectID      string     `json:"project_id"`
	Roles          []string   `json:"roles"`
	AllowedActions []Action   `json:"allowed_actions,omitempty"` // empty: whatever Roles allow
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`      // nil: never
	CreatedAt      time.Time  `json:"created_at"`
	Secret         string     `json:"secret,omitempty"`
}

func credentialView(c *credentialRecord) Credential {
	return Credential{ID: c.ID, Name: c.CredentialName, Description: c.Description, UserID: c.UserID,
		ProjectID: c.ProjectID, Roles: slices.Clone(c.Roles), AllowedActions: slices.Clone(c.AllowedActions),
		ExpiresAt: c.ExpiresAt, CreatedAt: c.CreatedAt}
}

// CredentialSpec describes a new application credential (Keystone's).
type CredentialSpec struct {
	Name        string // unique among the user's credentials
	Description string
	Project     string // ID or name: the project the credential acts in
	// Roles is a subset of the roles the user holds on Project; empty means all of them, as they
	// are now. If the user later loses one of them, the credential stops working.
	Roles []string
	// AllowedActions limits the credential to these policy actions (Keystone's access rules);
	// empty means whatever its roles allow.
	AllowedActions []Action
	ExpiresAt      time.Time // zero: never
}

// CreateCredential makes an application credential of user userID and returns it with its
// secret, which is shown once: Resolve accepts it as a bearer secret until it expires or is
// revoked.
func (s *Service) CreateCredential(ctx context.Context, userID string, spec CredentialSpec) (Credential, error) {
	if err := checkCredentialSpec(spec, s.now()); err != nil {
		return Credential{}, fmt.Errorf("create application credential %s: %w", quoteShort(spec.Name), err)
	}
	var out Credential
	err := s.db.Update(func(tx *store.Tx) error {
		c, err := newCredential(tx, userID, spec)
		if err != nil {
			return err
		}
		secret := newSecret(CredentialPrefix, c.ID)
		c.SecretHash = hashSecret(secret)
		if err := credentials.Create(tx, c); err != nil {
			return err
		}
		out = credentialView(c)
		out.Secret = secret
		return nil
	})
	if err != nil {
		return Credential{}, fmt.Errorf("create application credential %s: %w", quoteShort(spec.Name), err)
	}
	return out, nil
}

func checkCredentialSpec(spec CredentialSpec, now time.Time) error {
	if spec.Name == "" {
		return faultf(ErrInvalid, "a name is required")
	}
	if err := store.ValidateName(spec.Name); err != nil {
		return err
	}
	if len(spec.Description) > maxDescriptionLen {
		return faultf(ErrInvalid, "description longer than %d bytes", maxDescriptionLen)
	}
	for _, r := range spec.Roles {
		if err := checkRole(r); err != nil {
			return err
		}
	}
	for _, a := range spec.AllowedActions {
		if _, ok := ruleOf(a); !ok {
			return faultf(ErrInvalid, "unknown action %s in allowed actions", quoteShort(string(a)))
		}
	}
	if !spec.ExpiresAt.IsZero() && !spec.ExpiresAt.After(now) {
		return faultf(ErrInvalid, "expiry %s is not in the future", spec.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// newCredential builds the record of a credential (without its secret) after checking the user,
// the project and the roles against the catalog.
func newCredential(tx *store.Tx, userID string, spec CredentialSpec) (*credentialRecord, error) {
	u, err := users.Get(tx, userID)
	if err != nil {
		return nil, err
	}
	if _, err := findCredential(tx, u.ID, spec.Name); err == nil {
		return nil, faultf(ErrConflict, "user %s already has an application credential named %q", u.Name, spec.Name)
	}
	p, err := projects.Lookup(tx, "", spec.Project)
	if err != nil {
		return nil, err
	}
	if !u.Enabled || !p.Enabled {
		return nil, faultf(ErrConflict, "user %s or project %s is disabled", u.Name, p.Name)
	}
	held, err := effectiveRoles(tx, u.ID, p.ID)
	if err != nil {
		return nil, err
	}
	roles := held
	if len(spec.Roles) > 0 {
		roles = nil
		for _, r := range Roles() { // in canonical order, without duplicates
			if !slices.Contains(spec.Roles, r) {
				continue
			}
			if !slices.Contains(held, r) {
				return nil, faultf(ErrForbidden, "user %s does not hold role %s on project %s", u.Name, r, p.Name)
			}
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, faultf(ErrForbidden, "user %s has no role on project %s", u.Name, p.Name)
	}
	c := &credentialRecord{Meta: store.Meta{ID: store.NewID(), ProjectID: p.ID}, CredentialName: spec.Name,
		Description: spec.Description, UserID: u.ID, Roles: roles, AllowedActions: uniqueActions(spec.AllowedActions)}
	if !spec.ExpiresAt.IsZero() {
		at := spec.ExpiresAt.UTC()
		c.ExpiresAt = &at
	}
	return c, nil
}

func uniqueActions(as []Action) []Action {
	var out []Action
	for _, a := range as {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Credentials lists the application credentials of userID ("" for every user's), by name.
func (s *Service) Credentials(ctx context.Context, userID string) ([]Credential, error) {
	out := []Credential{}
	err := s.db.View(func(tx *store.Tx) error {
		return credentials.ForEach(tx, func(c *credentialRecord) error {
			if userID == "" || c.UserID == userID {
				out = append(out, credentialView(c))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list application credentials: %w", err)
	}
	slices.SortFunc(out, func(a, b Credential) int { return compareOwned(a.UserID, a.Name, b.UserID, b.Name) })
	return out, nil
}

// Credential returns an application credential of userID ("" for any user's) by ID or name.
func (s *Service) Credential(ctx context.Context, userID, ref string) (Credential, error) {
	var out Credential
	err := s.db.View(func(tx *store.Tx) error {
		c, err := findCredential(tx, userID, ref)
		if err == nil {
			out = credentialView(c)
		}
		return err
	})
	if err != nil {
		return Credential{}, fmt.Errorf("get application credential: %w", err)
	}
	return out, nil
}

// RevokeCredential deletes an application credential of userID ("" for any user's) by ID or
// name: Resolve refuses its secret from then on.
func (s *Service) RevokeCredential(ctx context.Context, userID, ref string) error {
	err := s.db.Update(func(tx *store.Tx) error {
		c, err := findCredential(tx, userID, ref)
		if err != nil {
			return err
		}
		return credentials.Delete(tx, c.ID)
	})
	if err != nil {
		return fmt.Errorf("revoke application credential: %w", err)
	}
	return nil
}

// findCredential finds a credential of userID ("" for any user; then names are ambiguous and only
// IDs are looked up) by ID or name.
func findCredential(tx *store.Tx, userID, ref string) (*credentialRecord, error) {
	var found *credentialRecord
	if store.IsID(ref) {
		c, err := credentials.Get(tx, ref)
		if err == nil && (userID == "" || c.UserID == userID) {
			return c, nil
		}
	} else if userID != "" {
		err := credentials.ForEach(tx, func(c *credentialRecord) error {
			if c.UserID == userID && c.CredentialName == ref {
				found = c
			}
			return nil
		})
		if err != nil || found != nil {
			return found, err
		}
	}
	return nil, faultf(ErrNotFound, "application credential %s not found", safeRef(ref))
}

// safeRef quotes a reference for a message unless it looks like a secret pasted by mistake.
func safeRef(ref string) string {
	if len(ref) > store.MaxNameLen && !store.IsID(ref) {
		return "(not a name or ID)"
	}
	return quoteShort(ref)
}

// compareOwned orders records by owner, then name.
func compareOwned(ownerA, nameA, ownerB, nameB string) int {
	return cmp.Or(cmp.Compare(ownerA, ownerB), cmp.Compare(nameA, nameB))
}
