package link_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"

	"cloudlet/appliance/network/link"
)

const netnsEnv = "CLOUDLET_LINK_TEST_IN_NETNS"

// TestMain re-runs the test binary in a private network and mount namespace (as e2e.RunInNetns
// does; this package may not import e2e): every bridge and tap the tests make dies with it, and a
// fresh sysfs on /sys shows that namespace's links, not the host's. On success it also checks that
// the tests removed every link they made.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	if os.Getenv(netnsEnv) != "" {
		os.Exit(runInNetns(m))
	}
	cmd := exec.Command("unshare", append([]string{"--net", "--mount", "--propagation", "private", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "link: cannot create a network namespace (need root and util-linux's unshare): %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runInNetns(m *testing.M) int {
	if err := unix.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
		fmt.Fprintf(os.Stderr, "link: mount a sysfs for the test namespace: %v\n", err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		return code
	}
	for _, prefix := range []string{link.BridgePrefix, link.TapPrefix} {
		left, err := link.List(prefix)
		if err != nil || len(left) > 0 {
			fmt.Fprintf(os.Stderr, "link: tests left %s links behind: %v %v\n", prefix, left, err)
			return 1
		}
	}
	return 0
}
