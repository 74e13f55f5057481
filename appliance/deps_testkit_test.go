package appliance_test

import (
	"strings"
	"testing"
)

// The shared test support stays test support: no product package imports internal/testkit (only
// _test.go files, which `go list` leaves out of Imports, and the e2e harness may), and testkit takes
// from the project only the catalog and testproc, never a service, so any package's tests can use it.
func TestTestkitIsImportedOnlyByTestsAndImportsNoService(t *testing.T) {
	const testkit = "cloudlet/internal/testkit"
	allowed := map[string]bool{"cloudlet/store": true, "cloudlet/appliance/testproc": true}
	found := false
	for _, p := range listPackages(t) {
		found = found || p.ImportPath == testkit
		for _, imp := range p.Imports {
			if imp == testkit && !hasPrefixAny(p.ImportPath, "cloudlet/appliance/e2e") {
				t.Errorf("%s imports %s: only tests and the e2e harness may", p.ImportPath, testkit)
			}
			if p.ImportPath == testkit && strings.HasPrefix(imp, "cloudlet/") && !allowed[imp] {
				t.Errorf("%s imports %s: test support imports only store and testproc from the project", testkit, imp)
			}
		}
	}
	if !found {
		t.Errorf("go list does not list %s", testkit)
	}
}
