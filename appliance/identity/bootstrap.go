package identity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"cloudlet/store"
)

// AdminName names both the first project and the first user.
const AdminName = "admin"

// adminPasswordLen is the length of generated passwords (the first admin's, reset ones): about 117
// bits.
const adminPasswordLen = 20

// Bootstrap makes sure project admin and user admin (with the admin role on it) exist. The first time, it
// generates a random password, writes it to passwordFile (0600) and returns it; afterwards it returns "".
// The file is written before the catalog commit and removed if the commit fails, so a user never exists
// without a way in.
func (s *Service) Bootstrap(passwordFile string) (string, error) {
	exists, err := s.adminExists()
	if err != nil || exists {
		return "", err
	}
	password, err := newPassword(AdminName)
	if err != nil {
		return "", fmt.Errorf("generate admin password: %w", err)
	}
	hash, err := s.hashPassword(context.Background(), password)
	if err != nil {
		return "", fmt.Errorf("hash admin password: %w", err)
	}
	if err := writeSecret(passwordFile, password+"\n"); err != nil {
		return "", err
	}
	if err := s.db.Update(func(tx *store.Tx) error { return createAdmin(tx, hash) }); err != nil {
		os.Remove(passwordFile)
		return "", fmt.Errorf("bootstrap admin: %w", err)
	}
	return password, nil
}

func (s *Service) adminExists() (bool, error) {
	var exists bool
	err := s.db.View(func(tx *store.Tx) error {
		_, err := users.Lookup(tx, "", AdminName)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		exists = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("look up admin user: %w", err)
	}
	return exists, nil
}

func createAdmin(tx *store.Tx, hash string) error {
	p := &Project{Meta: store.Meta{Name: AdminName}, Description: "cloud administrators", Enabled: true}
	if err := projects.Create(tx, p); err != nil {
		return fmt.Errorf("create project %s: %w", AdminName, err)
	}
	u := &userRecord{Meta: store.Meta{Name: AdminName}, PasswordHash: hash, DefaultProjectID: p.ID, Enabled: true}
	if err := users.Create(tx, u); err != nil {
		return fmt.Errorf("create user %s: %w", AdminName, err)
	}
	ra := &RoleAssignment{Meta: store.Meta{ProjectID: p.ID}, UserID: u.ID, Role: RoleAdmin}
	if err := assignments.Create(tx, ra); err != nil {
		return fmt.Errorf("assign role %s to user %s on project %s: %w", RoleAdmin, AdminName, AdminName, err)
	}
	return nil
}

// CheckPassword reports whether password is the named user's (enabled or not). An unknown user
// costs a hash verification too.
func (s *Service) CheckPassword(username, password string) (bool, error) {
	ctx := context.Background()
	hash := s.dummyHash
	err := s.db.View(func(tx *store.Tx) error {
		u, err := users.Lookup(tx, "", username)
		if err == nil {
			hash = u.PasswordHash
		}
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("look up user %s: %w", quoteShort(username), err)
	}
	ok, verr := s.verifyPassword(ctx, hash, password)
	if verr != nil {
		return false, fmt.Errorf("check password of user %s: %w", quoteShort(username), verr)
	}
	return ok && err == nil, nil
}

// writeSecret writes data to path with mode 0600 through a temp file and rename.
func writeSecret(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// AdminProjectID returns the id of project admin.
func (s *Service) AdminProjectID() (string, error) {
	var id string
	err := s.db.View(func(tx *store.Tx) error {
		p, err := projects.Lookup(tx, "", AdminName)
		if err != nil {
			return err
		}
		id = p.ID
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("look up project %s: %w", AdminName, err)
	}
	return id, nil
}
