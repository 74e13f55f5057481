package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/crashpoint"
)

// Faults table: a daemon killed in a resume once QEMU runs with -incoming, while it may still be
// restoring the saved state and before anything sent cont. The restart finishes the resume in that
// QEMU: the instance is active with the same guest (its boot id unchanged, so its memory was restored
// and it did not boot again), the saved state is gone, and pause and unpause work on it afterwards
// (before, the instance came back paused on a QEMU still restoring, and unpause left it in prelaunch).
func TestDaemonKilledMidResumeFinishesTheResumeAfterTheRestart(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("midresume", kernelImage, nil).ID
	c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	c.WaitConsole(id, ready, 1, bootWait)
	bootID, _ := c.shell(id, "midresume").run("cat /proc/sys/kernel/random/boot_id")
	c.Act(id, "suspend")
	c.WaitState(id, compute.VMSuspended, compute.PowerSuspended, bootWait)

	restartArmed(t, c, crashpoint.ResumeExec)
	c.Act(id, "resume")
	crashed(t, c, crashpoint.ResumeExec)

	after := c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	if !processAlive(after.PID) || after.Fault != "" {
		t.Errorf("active with pid %d (alive %v), fault %q: want its QEMU running and no fault", after.PID, processAlive(after.PID), after.Fault)
	}
	if _, err := os.Stat(filepath.Join(c.D.DataDir, "instances", id, "suspend.state")); !os.IsNotExist(err) {
		t.Errorf("saved state left after the resume was finished: %v", err)
	}
	if got, _ := c.shell(id, "midresume").run("cat /proc/sys/kernel/random/boot_id"); got != bootID {
		t.Errorf("boot id %q after the resume, was %q: want the restored guest, not a new boot", got, bootID)
	}
	c.Act(id, "pause")
	c.WaitState(id, compute.VMPaused, compute.PowerPaused, bootWait)
	c.Act(id, "unpause")
	c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	c.DeleteAndWait(id)
}
