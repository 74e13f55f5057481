package firewall

import (
	"os"
	"testing"

	"cloudlet/internal/testkit"
)

// TestMain runs every test of this package inside a private network namespace (re-executing the
// test binary under `unshare --net`), so no rule ever reaches the host; the namespace dies with
// the test process, also on failure.
func TestMain(m *testing.M) {
	os.Exit(testkit.RunInNetns(m, testkit.Netns{Name: "firewall"}))
}
