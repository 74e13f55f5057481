package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/qemu"
)

// Faults table: the daemon killed in the middle of create and of delete. After a restart every instance
// has settled (running and adopted, or error with a reason), nothing is half-made, and delete still
// frees everything.
func TestDaemonKilledMidCreateAndMidDelete(t *testing.T) {
	c := newCloud(t, "")
	for i, delay := range []time.Duration{0, 30 * time.Millisecond, 150 * time.Millisecond, 600 * time.Millisecond} {
		name := "crash" + string(rune('a'+i))
		id := c.Create(name, kernelImage, nil).ID
		time.Sleep(delay)
		c.D.Kill()
		c.D.Start(t)
		c.D.WaitReady(t)
		inst := settle(t, c, id)
		switch inst.VMState {
		case compute.VMActive:
			if !strings.Contains(cmdline(inst.PID), id) {
				t.Errorf("%s: active but pid %d is not its QEMU", name, inst.PID)
			}
		case compute.VMError:
			if inst.Fault == "" {
				t.Errorf("%s: error without a reason", name)
			}
		default:
			t.Errorf("%s: settled in %s/%s after a crash mid-create", name, inst.VMState, inst.PowerState)
		}
		assertNoTemps(t, c, id)

		var deleting compute.Instance
		if err := c.Do("DELETE", "/api/v1/instances/"+id, nil, &deleting); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		c.D.Kill()
		c.D.Start(t)
		c.D.WaitReady(t)
		c.WaitGone(id, time.Minute)
		assertNoTrace(t, c, id, inst.PID)
	}
}

// settle waits until the instance has no task.
func settle(t *testing.T, c *Cloud, id string) compute.Instance {
	t.Helper()
	deadline := time.Now().Add(bootWait)
	for time.Now().Before(deadline) {
		inst := c.Show(id)
		if inst.TaskState == "" && inst.VMState != compute.VMBuilding {
			return inst
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("instance %s never settled: %+v", id, c.Show(id))
	return compute.Instance{}
}

func assertNoTemps(t *testing.T, c *Cloud, id string) {
	t.Helper()
	tmps, _ := filepath.Glob(filepath.Join(c.D.DataDir, "instances", id, "*.tmp"))
	if len(tmps) > 0 {
		t.Errorf("half-written files left: %v", tmps)
	}
	if _, err := os.Stat(filepath.Join(c.D.DataDir, "instances", id)); err != nil && !os.IsNotExist(err) {
		t.Error(err)
	}
}

// restartArmed restarts the daemon so that it kills itself (SIGKILL) at crash point point.
func restartArmed(t *testing.T, c *Cloud, point string) {
	t.Helper()
	c.D.Kill()
	env := c.D.Env
	c.D.Env = append(append([]string(nil), env...), crashpoint.Env+"="+point)
	c.D.Start(t)
	c.D.Env = env // the next start is unarmed
	c.D.WaitReady(t)
}

// crashed waits until the armed daemon has killed itself at its crash point, then restarts it unarmed.
func crashed(t *testing.T, c *Cloud, point string) {
	t.Helper()
	if _, ok := c.D.Wait(2 * bootWait); !ok {
		t.Fatalf("the daemon never reached crash point %s", point)
	}
	c.D.Start(t)
	c.D.WaitReady(t)
}

// runDirFiles lists what the instance's run dir holds.
func runDirFiles(c *Cloud, id string) []string {
	entries, _ := os.ReadDir(filepath.Join(c.D.RunDir, "instances", id))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Faults table: a daemon killed between writing QEMU's pidfile under its temporary name and renaming it.
// The restart kills that QEMU (its start never finished) and leaves no file of it; the delete frees all.
func TestDaemonKilledMidPidfileLeavesNoTempAfterRestartAndDelete(t *testing.T) {
	c := newCloud(t, "")
	restartArmed(t, c, crashpoint.PIDFileTemp)
	id := c.Create("midpid", kernelImage, nil).ID
	if _, ok := c.D.Wait(2 * bootWait); !ok {
		t.Fatal("the daemon never reached the pidfile's crash point")
	}
	temps, _ := filepath.Glob(filepath.Join(c.D.RunDir, "instances", id, ".qemu.pid-*"))
	if len(temps) == 0 {
		t.Fatalf("no pidfile temp at the crash point; run dir holds %v", runDirFiles(c, id))
	}
	c.D.Start(t)
	c.D.WaitReady(t)
	inst := settle(t, c, id)
	if inst.VMState != compute.VMError || inst.Fault == "" {
		t.Errorf("after a crash mid-start: %s/%s fault %q, want error with the reason", inst.VMState, inst.PowerState, inst.Fault)
	}
	if names := runDirFiles(c, id); len(names) > 0 {
		t.Errorf("run dir after the restart holds %v", names)
	}
	c.DeleteAndWait(id)
	assertNoTrace(t, c, id, 0)
	assertNoQEMU(t, c, id)
}

// assertNoQEMU fails if a QEMU of instance id still runs.
func assertNoQEMU(t *testing.T, c *Cloud, id string) {
	t.Helper()
	found, err := qemu.Scan(filepath.Join(c.D.RunDir, "instances"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		if f.UUID == id {
			t.Errorf("QEMU pid %d of instance %s still runs", f.PID, id)
		}
	}
}

// Faults table: a daemon killed mid-suspend. Before the saved state is complete the suspend is rolled
// back on the same QEMU (the guest runs on, nothing saved is left); after it, the suspend is finished
// and resume brings the guest back.
func TestDaemonKilledMidSuspendSettlesOnTheSavedState(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("midsuspend", kernelImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	before := c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	stateDir := filepath.Join(c.D.DataDir, "instances", id)

	restartArmed(t, c, crashpoint.SuspendSaved)
	c.Act(id, "suspend")
	crashed(t, c, crashpoint.SuspendSaved)
	got := c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	if got.PID != before.PID || !processAlive(got.PID) {
		t.Errorf("pid %d (was %d): want the same QEMU, running again", got.PID, before.PID)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "suspend.state.tmp")); !os.IsNotExist(err) {
		t.Errorf("half-written saved state left: %v", err)
	}

	restartArmed(t, c, crashpoint.SuspendCommitted)
	c.Act(id, "suspend")
	crashed(t, c, crashpoint.SuspendCommitted)
	c.WaitState(id, compute.VMSuspended, compute.PowerSuspended, bootWait)
	if processAlive(before.PID) {
		t.Errorf("QEMU pid %d still alive while suspended", before.PID)
	}
	c.Act(id, "resume")
	c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	c.DeleteAndWait(id)
}

// Faults table: a daemon killed between a volume's reserve and its attach. After the restart the volume
// is available again and attaches.
func TestDaemonKilledBetweenReserveAndAttachFreesTheVolume(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("midattach", kernelImage, nil).ID
	c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "data", "size_gib": 1}, nil); err != nil {
		t.Fatal(err)
	}
	waitVolume(t, c, "data", "available")

	restartArmed(t, c, crashpoint.AttachReserved)
	if err := c.Do("POST", "/api/v1/volumes/data/attach", map[string]any{"instance": id}, nil); err == nil {
		t.Fatal("attach answered although the daemon was to die before it")
	}
	crashed(t, c, crashpoint.AttachReserved)
	waitVolume(t, c, "data", "available")
	if err := c.Do("POST", "/api/v1/volumes/data/attach", map[string]any{"instance": id}, nil); err != nil {
		t.Fatalf("attach after the restart: %v", err)
	}
	waitVolume(t, c, "data", "in-use")
	c.DeleteAndWait(id)
	waitVolume(t, c, "data", "available")
}

func waitVolume(t *testing.T, c *Cloud, ref, status string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var v volumeView
	for time.Now().Before(deadline) {
		if v = c.volume(ref); v.Status == status {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("volume %s is %s, want %s", ref, v.Status, status)
}
