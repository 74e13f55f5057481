package dhcp

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

const netnsEnv = "CLOUDLET_DHCP_TEST_IN_NETNS"

// TestMain re-runs the test binary in a private network namespace (as e2e.RunInNetns does; this
// package may not import e2e): every bridge, veth and namespace the tests make dies with it.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() || os.Getenv(netnsEnv) != "" {
		os.Exit(m.Run())
	}
	cmd := exec.Command("unshare", append([]string{"--net", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dhcp: cannot create a network namespace (need root and util-linux's unshare): %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}
