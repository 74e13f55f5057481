package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// runningPIDs returns each instance's QEMU pid and its /proc start time.
func runningPIDs(t *testing.T, c *Cloud, ids []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range ids {
		inst := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
		out[id] = fmt.Sprintf("pid=%d start=%s", inst.PID, qemuStart(inst.PID))
	}
	return out
}

// Faults table: daemon kill -9 with instances running, five times → same PIDs and start times after each
// restart; nothing restarted, nothing lost.
func TestDaemonKill9KeepsInstancesRunning(t *testing.T) {
	c := newCloud(t, "")
	var ids []string
	for _, name := range []string{"a", "b"} {
		id := c.Create(name, kernelImage, nil).ID
		c.WaitConsole(id, ready, 1, bootWait)
		ids = append(ids, id)
	}
	c.Act(ids[1], "pause")
	c.WaitState(ids[1], compute.VMPaused, compute.PowerPaused, 10*time.Second)
	c.Act(ids[1], "unpause")
	want := runningPIDs(t, c, ids)
	for round := 1; round <= 5; round++ {
		c.D.Kill()
		c.D.Start(t)
		c.D.WaitReady(t)
		if got := runningPIDs(t, c, ids); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: QEMU processes %v, want the same as before %v", round, got, want)
		}
	}
	// The reattached supervisors still drive their QEMUs.
	c.Act(ids[0], "pause")
	c.WaitState(ids[0], compute.VMPaused, compute.PowerPaused, 10*time.Second)
	c.Act(ids[0], "stop")
	c.WaitState(ids[0], compute.VMStopped, compute.PowerShutdown, 60*time.Second)
	if n := strings.Count(c.Console(ids[1]), ready); n != 1 {
		t.Errorf("instance b printed READY %d times: a restart rebooted it", n)
	}
}

// Faults table: QEMU killed → crashed; restart_policy on-crash restarts it until the crash-loop limit.
func TestQEMUKilledIsACrashAndRestartPolicyIsObeyed(t *testing.T) {
	c := newCloud(t, `{"crash_loop_limit": 2, "health_interval": "1s"}`)
	never := c.Create("never", kernelImage, nil).ID
	always := c.Create("always", kernelImage, map[string]any{"restart_policy": "on-crash"}).ID
	c.WaitConsole(never, ready, 1, bootWait)
	c.WaitConsole(always, ready, 1, bootWait)

	pid := c.WaitState(never, compute.VMActive, compute.PowerRunning, 10*time.Second).PID
	kill(t, pid)
	crashed := c.WaitState(never, compute.VMStopped, compute.PowerCrashed, 20*time.Second)
	if !strings.Contains(crashed.Fault, "killed") {
		t.Errorf("fault %q, want the signal named", crashed.Fault)
	}
	for n := 1; n <= 2; n++ {
		c.WaitConsole(always, ready, n, bootWait)
		pid := c.WaitState(always, compute.VMActive, compute.PowerRunning, 30*time.Second).PID
		kill(t, pid)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			inst := c.Show(always)
			if inst.PID != 0 && inst.PID != pid && inst.VMState == compute.VMActive {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c.WaitConsole(always, ready, 3, bootWait)
	pid = c.WaitState(always, compute.VMActive, compute.PowerRunning, 30*time.Second).PID
	kill(t, pid)
	looped := c.WaitState(always, compute.VMError, compute.PowerCrashed, 30*time.Second)
	if !strings.Contains(looped.Fault, "crash loop") {
		t.Errorf("fault %q, want the crash-loop limit named", looped.Fault)
	}
	if got := c.Show(never); got.VMState != compute.VMStopped {
		t.Errorf("restart_policy never: vm_state %s", got.VMState)
	}
}

// Faults table: a SIGSTOPped QEMU never hangs the API; the instance shows error; force stop works.
func TestFrozenQEMUKeepsTheAPIResponsive(t *testing.T) {
	c := newCloud(t, `{"health_interval": "1s"}`)
	id := c.Create("frozen", kernelImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	pid := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second).PID
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	deadline := time.Now().Add(30 * time.Second)
	var inst compute.Instance
	for time.Now().Before(deadline) {
		start := time.Now()
		inst = c.Show(id)
		var list []compute.Instance
		if err := c.Do("GET", "/api/v1/instances", nil, &list); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("show + list took %s with a frozen QEMU", took)
		}
		if inst.VMState == compute.VMError {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if inst.VMState != compute.VMError || !strings.Contains(inst.Fault, "not answering") {
		t.Fatalf("frozen QEMU: vm_state %s fault %q, want error naming the silent monitor", inst.VMState, inst.Fault)
	}
	start := time.Now()
	c.Act(id, "hard-stop")
	if took := time.Since(start); took > time.Second {
		t.Errorf("hard-stop answered after %s", took)
	}
	c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 30*time.Second)
	if processAlive(pid) {
		t.Errorf("frozen QEMU pid %d survived the force stop", pid)
	}
}

// Faults table: a stale pidfile naming an unrelated process: the process survives, the instance stays stopped.
func TestStalePidfileNeverKillsAnotherProcess(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("stale", kernelImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	c.Act(id, "stop")
	c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 60*time.Second)
	sleep := exec.Command("sleep", "300")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	c.D.Kill()
	runDir := filepath.Join(c.D.RunDir, "instances", id)
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(runDir, "qemu.pid")
	if err := os.WriteFile(pidfile, []byte(fmt.Sprintf("%d\n", sleep.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.D.Start(t)
	c.D.WaitReady(t)
	c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 10*time.Second)
	c.Act(id, "start")
	c.WaitConsole(id, ready, 2, bootWait)
	c.C = c.D.Client()
	c.DeleteAndWait(id)
	if err := sleep.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the unrelated process named by the stale pidfile is gone: %v", err)
	}
}

// Faults table: host reboot (run dir wiped, every QEMU gone): autostart instances come back in order,
// the rest stay stopped.
func TestHostRebootBringsAutostartInstancesBackInOrder(t *testing.T) {
	c := newCloud(t, "")
	second := c.Create("second", kernelImage, map[string]any{"autostart": true, "autostart_order": 2}).ID
	first := c.Create("first", kernelImage, map[string]any{"autostart": true, "autostart_order": 1}).ID
	manual := c.Create("manual", kernelImage, nil).ID
	for _, id := range []string{second, first, manual} {
		c.WaitConsole(id, ready, 1, bootWait)
	}
	c.D.Kill()
	reapQEMU(t, filepath.Join(c.D.RunDir, "instances")) // the "reboot": every QEMU dies, /run is empty
	entries, _ := os.ReadDir(c.D.RunDir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(c.D.RunDir, e.Name()))
	}
	c.D.Start(t)
	c.D.WaitReady(t)
	a := c.WaitState(first, compute.VMActive, compute.PowerRunning, bootWait)
	b := c.WaitState(second, compute.VMActive, compute.PowerRunning, bootWait)
	if !a.LaunchedAt.Before(*b.LaunchedAt) {
		t.Errorf("autostart order: first launched at %s, second at %s", a.LaunchedAt, b.LaunchedAt)
	}
	got := c.WaitState(manual, compute.VMStopped, compute.PowerCrashed, 10*time.Second)
	if got.Fault == "" {
		t.Error("the instance whose QEMU died with the host has no fault saying so")
	}
	c.WaitConsole(first, ready, 2, bootWait)
}

func kill(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
}
