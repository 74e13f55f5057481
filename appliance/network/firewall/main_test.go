package firewall

import (
	"os"
	"testing"

	"cloudlet/appliance/e2e"
)

// TestMain runs every test of this package inside a private network namespace (re-executing the
// test binary under `unshare --net`), so no rule ever reaches the host; the namespace dies with
// the test process, also on failure.
func TestMain(m *testing.M) {
	os.Exit(e2e.RunInNetns(m))
}
