package identity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloudlet/internal/testkit"
	"cloudlet/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db := testkit.Catalog(t, "", store.Options{})
	return db
}

func TestBootstrapCreatesAdminOnce(t *testing.T) {
	db := openDB(t)
	s := New(db)
	file := filepath.Join(t.TempDir(), "admin-password")
	password, err := s.Bootstrap(file)
	if err != nil || len(password) != 20 {
		t.Fatalf("Bootstrap = %q, %v", password, err)
	}
	saved, err := os.ReadFile(file)
	if err != nil || strings.TrimSpace(string(saved)) != password {
		t.Errorf("password file = %q, %v", saved, err)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("password file mode = %v, want 0600", st.Mode().Perm())
	}
	for _, tc := range []struct {
		user, password string
		want           bool
	}{{AdminName, password, true}, {AdminName, "wrong", false}, {"nobody", password, false}} {
		if got, err := s.CheckPassword(tc.user, tc.password); got != tc.want || err != nil {
			t.Errorf("CheckPassword(%q, %q) = %v, %v; want %v", tc.user, tc.password, got, err, tc.want)
		}
	}
	again, err := s.Bootstrap(file)
	if err != nil || again != "" {
		t.Errorf("second Bootstrap = %q, %v; want nothing new", again, err)
	}
	err = db.View(func(tx *store.Tx) error {
		ras, err := assignments.List(tx, "")
		if err != nil {
			return err
		}
		if len(ras) != 1 || ras[0].Role != RoleAdmin {
			t.Errorf("role assignments = %+v, want one admin", ras)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBootstrapFailureLeavesNoPasswordFile(t *testing.T) {
	db := openDB(t)
	// Project admin exists but user admin does not: the bootstrap transaction conflicts and rolls back.
	err := db.Update(func(tx *store.Tx) error { return projects.Create(tx, &Project{Meta: store.Meta{Name: AdminName}}) })
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "admin-password")
	if _, err := New(db).Bootstrap(file); err == nil {
		t.Fatal("Bootstrap succeeded although project admin already exists")
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("password file left behind after a failed bootstrap: %v", err)
	}
}
