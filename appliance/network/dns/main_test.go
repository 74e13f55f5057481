package dns

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

const netnsEnv = "CLOUDLET_DNS_TEST_IN_NETNS"

// TestMain re-runs the test binary in a private network namespace (as e2e.RunInNetns does; this
// package may not import e2e) and brings its loopback up: servers, fake upstreams and clients all
// use 127.0.0.x addresses there, which die with the namespace.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	if os.Getenv(netnsEnv) != "" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "dns: ip link set lo up: %v: %s\n", err, out)
			os.Exit(1)
		}
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
		fmt.Fprintf(os.Stderr, "dns: cannot create a network namespace (need root and util-linux's unshare): %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}
