package identity

import (
	"context"
	"fmt"
	"net/mail"
	"time"

	"cloudlet/store"
)

// User is a user as the service shows it: never its password hash.
type User struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Email            string    `json:"email,omitempty"`
	Enabled          bool      `json:"enabled"`
	DefaultProjectID string    `json:"default_project_id,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func userView(u *userRecord) User {
	return User{ID: u.ID, Name: u.Name, Email: u.Email, Enabled: u.Enabled, DefaultProjectID: u.DefaultProjectID,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// UserSpec describes a new user.
type UserSpec struct {
	Name           string
	Email          string // optional
	Password       string // at least MinPasswordLen characters
	Enabled        bool
	DefaultProject string // optional project ID or name, the one a login without a project gets
}

// CreateUser makes a user. It has no role anywhere yet: see Assign.
func (s *Service) CreateUser(ctx context.Context, spec UserSpec) (User, error) {
	if err := checkUserSpec(spec); err != nil {
		return User{}, fmt.Errorf("create user %s: %w", quoteShort(spec.Name), err)
	}
	hash, err := s.hashPassword(ctx, spec.Password)
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", quoteShort(spec.Name), err)
	}
	u := &userRecord{Meta: store.Meta{Name: spec.Name}, Email: spec.Email, PasswordHash: hash, Enabled: spec.Enabled}
	err = s.db.Update(func(tx *store.Tx) error {
		if spec.DefaultProject != "" {
			p, err := projects.Lookup(tx, "", spec.DefaultProject)
			if err != nil {
				return err
			}
			u.DefaultProjectID = p.ID
		}
		if err := users.Create(tx, u); err != nil {
			return err
		}
		return appendEvent(tx, "user.created", "user", u.ID, "", nil)
	})
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", quoteShort(spec.Name), err)
	}
	return userView(u), nil
}

func checkUserSpec(spec UserSpec) error {
	if spec.Name == "" {
		return faultf(ErrInvalid, "a name is required")
	}
	if err := store.ValidateName(spec.Name); err != nil {
		return err
	}
	if err := checkEmail(spec.Email); err != nil {
		return err
	}
	return checkPassword(spec.Password, spec.Name)
}

// checkEmail accepts "" or one bare address.
func checkEmail(email string) error {
	if email == "" {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || len(email) > 254 {
		return faultf(ErrInvalid, "invalid email %s: want a bare address such as ada@example.org", quoteShort(email))
	}
	return nil
}

// Users lists every user, by name.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	out := []User{}
	err := s.db.View(func(tx *store.Tx) error {
		us, err := users.List(tx, "")
		for _, u := range us {
			out = append(out, userView(u))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// User returns a user by ID or name.
func (s *Service) User(ctx context.Context, ref string) (User, error) {
	var out User
	err := s.db.View(func(tx *store.Tx) error {
		u, err := users.Lookup(tx, "", ref)
		if err == nil {
			out = userView(u)
		}
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	return out, nil
}

// UserUpdate changes a user; nil fields stay as they are. DefaultProject "" clears the default.
type UserUpdate struct {
	Email          *string
	Enabled        *bool
	DefaultProject *string
	Password       *string
}

// UpdateUser changes a user. A new password revokes its tokens; disabling the user revokes its
// tokens and application credentials for good (revoke.go). User admin cannot be disabled.
func (s *Service) UpdateUser(ctx context.Context, ref string, upd UserUpdate) (User, error) {
	if err := s.checkUserUpdate(ctx, ref, upd); err != nil {
		return User{}, fmt.Errorf("update user %s: %w", quoteShort(ref), err)
	}
	var hash string
	if upd.Password != nil {
		var err error
		if hash, err = s.hashPassword(ctx, *upd.Password); err != nil {
			return User{}, fmt.Errorf("update user %s: %w", quoteShort(ref), err)
		}
	}
	var out User
	err := s.db.Update(func(tx *store.Tx) error {
		u, err := users.Lookup(tx, "", ref)
		if err != nil {
			return err
		}
		if err := applyUserUpdate(tx, u, upd, hash); err != nil {
			return err
		}
		if err := users.Update(tx, u); err != nil {
			return err
		}
		out = userView(u)
		return appendEvent(tx, "user.updated", "user", u.ID, "", nil)
	})
	if err != nil {
		return User{}, fmt.Errorf("update user %s: %w", quoteShort(ref), err)
	}
	return out, nil
}

// checkUserUpdate checks the new email and password of user ref (names never change, so the
// password can be checked against the name before the update's transaction).
func (s *Service) checkUserUpdate(ctx context.Context, ref string, upd UserUpdate) error {
	if upd.Email != nil {
		if err := checkEmail(*upd.Email); err != nil {
			return err
		}
	}
	if upd.Password == nil {
		return nil
	}
	u, err := s.User(ctx, ref)
	if err != nil {
		return err
	}
	return checkPassword(*upd.Password, u.Name)
}

// applyUserUpdate changes u in memory, revoking its tokens when its password changes, and its
// tokens and credentials when it is disabled. hash is the new password's, if any.
func applyUserUpdate(tx *store.Tx, u *userRecord, upd UserUpdate, hash string) error {
	disable := upd.Enabled != nil && !*upd.Enabled
	if disable && u.Name == AdminName {
		return faultf(ErrForbidden, "user %s cannot be disabled", AdminName)
	}
	if upd.DefaultProject != nil {
		u.DefaultProjectID = ""
		if *upd.DefaultProject != "" {
			p, err := projects.Lookup(tx, "", *upd.DefaultProject)
			if err != nil {
				return err
			}
			u.DefaultProjectID = p.ID
		}
	}
	if upd.Email != nil {
		u.Email = *upd.Email
	}
	if upd.Enabled != nil {
		u.Enabled = *upd.Enabled
	}
	if hash != "" {
		u.PasswordHash = hash
	}
	if disable {
		return revokeUser(tx, u.ID)
	}
	if hash != "" {
		return revokeTokens(tx, u.ID, "")
	}
	return nil
}

// DeleteUser deletes a user with its role assignments, tokens, application credentials and
// keypairs. User admin cannot be deleted.
func (s *Service) DeleteUser(ctx context.Context, ref string) error {
	err := s.db.Update(func(tx *store.Tx) error {
		u, err := users.Lookup(tx, "", ref)
		if err != nil {
			return err
		}
		if u.Name == AdminName {
			return faultf(ErrForbidden, "user %s is protected", AdminName)
		}
		if err := deleteUserRecords(tx, u.ID); err != nil {
			return err
		}
		if err := users.Delete(tx, u.ID); err != nil {
			return err
		}
		return appendEvent(tx, "user.deleted", "user", u.ID, "", nil)
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", quoteShort(ref), err)
	}
	return nil
}

// deleteUserRecords deletes what identity keeps of a user, other than the user itself.
func deleteUserRecords(tx *store.Tx, userID string) error {
	err := assignments.ForEach(tx, func(ra *RoleAssignment) error {
		if ra.UserID == userID {
			return assignments.Delete(tx, ra.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := revokeTokens(tx, userID, ""); err != nil {
		return err
	}
	err = credentials.ForEach(tx, func(c *credentialRecord) error {
		if c.UserID == userID {
			return credentials.Delete(tx, c.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return keypairs.ForEach(tx, func(k *keypairRecord) error {
		if k.UserID == userID {
			return keypairs.Delete(tx, k.ID)
		}
		return nil
	})
}

// ResetPassword gives a user (ID or name) a new random password, revokes its tokens and returns
// the password, which is shown once and kept nowhere. It is how `cloudlet user reset-password`
// over the local socket recovers access.
func (s *Service) ResetPassword(ctx context.Context, username string) (string, error) {
	u, err := s.User(ctx, username)
	if err != nil {
		return "", fmt.Errorf("reset password: %w", err)
	}
	password, err := newPassword(u.Name)
	if err != nil {
		return "", fmt.Errorf("reset password of user %s: generate: %w", quoteShort(username), err)
	}
	if _, err := s.UpdateUser(ctx, u.ID, UserUpdate{Password: &password}); err != nil {
		return "", fmt.Errorf("reset password: %w", err)
	}
	return password, nil
}
