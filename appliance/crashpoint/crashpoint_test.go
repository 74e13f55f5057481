package crashpoint_test

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"cloudlet/appliance/crashpoint"
)

const childEnv = "CLOUDLET_CRASHPOINT_TEST_CHILD"

// TestMain lets the test binary play a daemon that passes one crash point and then exits normally.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		crashpoint.Hit(crashpoint.AttachReserved)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A crash point kills the process with SIGKILL only when the environment names it.
func TestHitKillsOnlyWhenTheEnvironmentArmsThePoint(t *testing.T) {
	for _, tt := range []struct {
		armed  string
		killed bool
	}{
		{"", false},
		{crashpoint.SuspendSaved, false},
		{crashpoint.AttachReserved, true},
		{crashpoint.PIDFileTemp + "," + crashpoint.AttachReserved, true},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", crashpoint.Env+"="+tt.armed)
		err := cmd.Run()
		var exit *exec.ExitError
		killed := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
		if killed != tt.killed || (!killed && err != nil) {
			t.Errorf("armed %q: err %v, killed %v, want killed %v", tt.armed, err, killed, tt.killed)
		}
	}
}
