package identity

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"golang.org/x/crypto/bcrypt"

	"cloudlet/store"
)

// AdminName names both the first project and the first user.
const AdminName = "admin"

// Service manages identity records in the catalog.
type Service struct {
	db *store.DB
}

// New returns the identity service over db.
func New(db *store.DB) *Service { return &Service{db: db} }

// Bootstrap makes sure project admin and user admin (with the admin role on it) exist. The first time, it
// generates a random password, writes it to passwordFile (0600) and returns it; afterwards it returns "".
// The file is written before the catalog commit and removed if the commit fails, so a user never exists
// without a way in.
func (s *Service) Bootstrap(passwordFile string) (string, error) {
	exists, err := s.adminExists()
	if err != nil || exists {
		return "", err
	}
	password, err := randomPassword(20)
	if err != nil {
		return "", err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash admin password: %w", err)
	}
	if err := writeSecret(passwordFile, password+"\n"); err != nil {
		return "", err
	}
	if err := s.db.Update(func(tx *store.Tx) error { return createAdmin(tx, string(hash)) }); err != nil {
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
	u := &User{Meta: store.Meta{Name: AdminName}, PasswordHash: hash, DefaultProjectID: p.ID, Enabled: true}
	if err := users.Create(tx, u); err != nil {
		return fmt.Errorf("create user %s: %w", AdminName, err)
	}
	ra := &RoleAssignment{Meta: store.Meta{ProjectID: p.ID}, UserID: u.ID, Role: RoleAdmin}
	if err := assignments.Create(tx, ra); err != nil {
		return fmt.Errorf("assign role %s to user %s on project %s: %w", RoleAdmin, AdminName, AdminName, err)
	}
	return nil
}

// CheckPassword reports whether password is the named user's.
func (s *Service) CheckPassword(username, password string) (bool, error) {
	var hash string
	err := s.db.View(func(tx *store.Tx) error {
		u, err := users.Lookup(tx, "", username)
		if err != nil {
			return err
		}
		hash = u.PasswordHash
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up user %s: %w", username, err)
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil, nil
}

const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func randomPassword(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i] = passwordAlphabet[v.Int64()]
	}
	return string(b), nil
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

// AdminProjectID returns the id of project admin (callers act in it until tokens carry a project).
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
