package dns

import (
	"os"
	"testing"

	"cloudlet/internal/testkit"
)

// TestMain re-runs the test binary in a private network namespace with its loopback up: servers, fake
// upstreams and clients all use 127.0.0.x addresses there, which die with the namespace. Under -short
// the tests run here and skip what needs the namespace.
func TestMain(m *testing.M) {
	os.Exit(testkit.RunInNetns(m, testkit.Netns{Name: "dns", ShortHere: true}))
}
