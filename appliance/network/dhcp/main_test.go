package dhcp

import (
	"os"
	"testing"

	"cloudlet/internal/testkit"
)

// TestMain re-runs the test binary in a private network namespace: every bridge, veth and namespace
// the tests make dies with it. Under -short the tests run here and skip what needs the namespace.
func TestMain(m *testing.M) {
	os.Exit(testkit.RunInNetns(m, testkit.Netns{Name: "dhcp", ShortHere: true}))
}
