package link_test

import (
	"fmt"
	"os"
	"testing"

	"cloudlet/appliance/network/link"
	"cloudlet/internal/testkit"
)

// TestMain re-runs the test binary in a private network and mount namespace: every bridge and tap the
// tests make dies with it, and a fresh sysfs on /sys shows that namespace's links, not the host's. On
// success it also checks that the tests removed every link they made. Under -short the tests run
// here and skip what needs the namespace.
func TestMain(m *testing.M) {
	os.Exit(testkit.RunInNetns(m, testkit.Netns{Name: "link", Sysfs: true, ShortHere: true, AfterPass: noLinksLeft}))
}

// noLinksLeft fails the run if a test left a bridge or tap of cloudlet's behind.
func noLinksLeft() error {
	for _, prefix := range []string{link.BridgePrefix, link.TapPrefix} {
		left, err := link.List(prefix)
		if err != nil || len(left) > 0 {
			return fmt.Errorf("tests left %s links behind: %v %v", prefix, left, err)
		}
	}
	return nil
}
