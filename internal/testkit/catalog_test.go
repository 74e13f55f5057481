package testkit

import (
	"fmt"
	"strings"
	"testing"

	"cloudlet/store"
)

// recorder is a testing.TB whose failures and cleanups are kept for the test to look at: the real t
// does the rest (TempDir, Logf).
type recorder struct {
	testing.TB
	cleanups []func()
	failures []string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// end runs the cleanups as the testing package does when a test ends: last registered first.
func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// A test over a catalog that stayed consistent passes; one whose catalog fails Check at the end (here:
// closed under the helper's feet, so Check cannot even read it) fails, naming the check.
func TestCatalogRunsCheckWhenTheTestEndsAndFailsTheTestOnAProblem(t *testing.T) {
	clean := &recorder{TB: t}
	db := Catalog(clean, "", store.Options{})
	if err := db.Update(func(tx *store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	clean.end()
	if len(clean.failures) != 0 {
		t.Errorf("a consistent catalog failed the test: %v", clean.failures)
	}

	broken := &recorder{TB: t}
	db = Catalog(broken, t.TempDir(), store.Options{})
	db.Close()
	broken.end()
	if len(broken.failures) == 0 || !strings.Contains(broken.failures[0], "catalog is inconsistent") {
		t.Errorf("a catalog that fails Check at the end: failures %q, want the check's", broken.failures)
	}
}
