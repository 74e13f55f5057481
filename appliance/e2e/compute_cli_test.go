package e2e

import (
	"strings"
	"testing"

	"cloudlet/appliance/compute"
)

// The CLI drives the same lifecycle: create --wait, show (states, pid, timeline up to guest_ready),
// console-log, stop --wait, start --wait, an illegal action's error line, delete --wait.
func TestInstanceCLI(t *testing.T) {
	c := newCloud(t, "")
	run := func(want int, args ...string) string { t.Helper(); return c.CLIExit(want, args...) }
	for _, want := range []string{"m1.tiny", "m1.small", "m1.medium", "m1.large"} {
		if out := run(0, "flavor", "list"); !strings.Contains(out, want) {
			t.Errorf("flavor list lacks %s:\n%s", want, out)
		}
	}
	if out := run(0, "image", "list"); !strings.Contains(out, kernelImage) || !strings.Contains(out, "active") {
		t.Errorf("image list:\n%s", out)
	}
	if out := run(0, "instance", "create", "cli", "--image", kernelImage, "--flavor", "m1.tiny", "--wait"); !strings.Contains(out, "active") {
		t.Errorf("create --wait:\n%s", out)
	}
	// guest_ready is recorded by whichever of the guest's signals comes first: on the default network
	// its phone-home to the metadata service can come before its READY line reaches the console log
	// (ci21 saw that), so wait for both, each for itself.
	c.WaitStage("cli", compute.StageGuestReady, bootWait)
	c.WaitConsole("cli", ready, 1, bootWait)
	show := run(0, "instance", "show", "cli")
	for _, want := range []string{"vm_state", "active", "power_state", "running", "timeline.qemu_exec", "timeline.guest_ready", "pid"} {
		if !strings.Contains(show, want) {
			t.Errorf("instance show lacks %q:\n%s", want, show)
		}
	}
	if out := run(0, "instance", "console-log", "cli"); !strings.Contains(out, ready) {
		t.Errorf("console-log lacks the ready marker:\n%s", out)
	}
	if out := run(1, "instance", "unpause", "cli"); !strings.Contains(out, "vm_state is active") {
		t.Errorf("unpause of an active instance:\n%s", out)
	}
	if out := run(0, "instance", "stop", "cli", "--wait"); !strings.Contains(out, "stopped") {
		t.Errorf("stop --wait:\n%s", out)
	}
	if out := run(0, "instance", "start", "cli", "--wait"); !strings.Contains(out, "active") {
		t.Errorf("start --wait:\n%s", out)
	}
	run(0, "instance", "delete", "cli", "--wait")
	if out := run(0, "instance", "list"); strings.Contains(out, "cli") {
		t.Errorf("instance list after delete:\n%s", out)
	}
}
