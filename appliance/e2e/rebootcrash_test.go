package e2e

import (
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/crashpoint"
)

// Faults table: a daemon killed in a soft reboot after the guest shut down and before the reset leaves
// QEMU in run state shutdown (where it refuses cont) with its shutdown action still pause. The restart
// finishes the reboot in the same QEMU (the guest boots again) instead of showing it paused for ever,
// and a later power-off from inside the guest stops the instance.
func TestDaemonKilledMidSoftRebootFinishesTheRebootAfterTheRestart(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("midreboot", kernelImage, nil).ID
	before := c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	c.WaitConsole(id, ready, 1, bootWait) // its acpid answers the power button from now on

	restartArmed(t, c, crashpoint.RebootGuestDown)
	c.Act(id, "reboot")
	crashed(t, c, crashpoint.RebootGuestDown)

	after := c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	if after.PID != before.PID {
		t.Errorf("QEMU pid %d after the restart, was %d: the reboot must finish in the same QEMU", after.PID, before.PID)
	}
	c.WaitConsole(id, ready, 2, bootWait)

	c.shell(id, "midreboot").run("(sleep 1; poweroff -f) >/dev/null 2>&1 &")
	if got := c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 60*time.Second); got.Fault != "" {
		t.Errorf("a guest power-off left fault %q", got.Fault)
	}
}
