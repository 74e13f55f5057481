package compute

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// after returns the QMP commands a fake QEMU received after the first n.
func after(p *fakeProc, n int) []string { return p.srv.Commands()[n:] }

func TestSoftRebootAsksTheGuestThenResets(t *testing.T) {
	e := newEnv(t, nil)
	e.hv.onStart = func(p *fakeProc, _ qemu.Spec) {
		p.srv.Handle("set-action", func(json.RawMessage) (any, *qmptest.Error) { return map[string]any{}, nil })
		p.srv.Handle("system_powerdown", func(json.RawMessage) (any, *qmptest.Error) {
			go p.srv.Emit(qmp.EventShutdown, map[string]any{"guest": true, "reason": "guest-shutdown"})
			return map[string]any{}, nil
		})
	}
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	n := len(p.srv.Commands())
	e.act(inst.ID, ActReboot)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	waitCommands(t, p, n, "set-action", "system_powerdown", "system_reset", "cont", "set-action")
	if e.hv.startCount() != 1 {
		t.Error("a reboot restarted QEMU")
	}
}

func TestSoftRebootFallsBackToResetWhenTheGuestIgnoresIt(t *testing.T) {
	e := newEnv(t, nil)
	e.hv.onStart = func(p *fakeProc, _ qemu.Spec) {
		p.srv.Handle("set-action", func(json.RawMessage) (any, *qmptest.Error) { return map[string]any{}, nil })
	}
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	n := len(p.srv.Commands())
	e.act(inst.ID, ActReboot)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	waitCommands(t, p, n, "set-action", "system_powerdown", "set-action", "system_reset")
}

func TestHardRebootResetsAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	n := len(p.srv.Commands())
	e.act(inst.ID, ActHardReset)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	waitCommands(t, p, n, "system_reset")
	if slices.Contains(after(p, n), "system_powerdown") {
		t.Error("hard reboot asked the guest")
	}
}

func TestSuspendSavesStateAndResumeRestoresIt(t *testing.T) {
	e := newEnv(t, nil)
	e.hv.onStart = func(p *fakeProc, spec qemu.Spec) {
		if spec.IncomingFD > 0 { // QEMU loads the saved state, then waits paused for cont
			p.srv.SetStatus("inmigrate")
			go func() { time.Sleep(100 * time.Millisecond); p.srv.SetStatus("paused") }()
		}
	}
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	e.act(inst.ID, ActSuspend)
	e.waitFor(inst.ID, VMSuspended, PowerSuspended)
	waitCommands(t, p, 0, "stop", "getfd", "migrate", "query-migrate", "quit")
	if fds := p.srv.ReceivedFDs(); len(fds) != 1 || fds[0].Name != "suspend" {
		t.Errorf("fds passed to QEMU: %+v, want the state file as \"suspend\"", fds)
	}
	state := e.svc.statePath(inst.ID)
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("saved state: %v", err)
	}
	e.act(inst.ID, ActResume)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	e.hv.mu.Lock()
	spec := e.hv.starts[len(e.hv.starts)-1]
	e.hv.mu.Unlock()
	if spec.IncomingFD != 3 {
		t.Errorf("resume started QEMU with IncomingFD %d, want 3", spec.IncomingFD)
	}
	if cmds := e.hv.proc(inst.ID).srv.Commands(); !slices.Contains(cmds, "query-status") || cmds[len(cmds)-1] != "cont" && !slices.Contains(cmds, "cont") {
		t.Errorf("resume commands %v: want query-status until loaded, then cont", cmds)
	}
	for i := 0; i < 200; i++ { // removed right after the record says active
		if _, err := os.Stat(state); os.IsNotExist(err) {
			return
		}
		sleepMs(10)
	}
	t.Error("saved state still there after resume")
}

func TestFailedSuspendLeavesTheGuestRunning(t *testing.T) {
	e := newEnv(t, nil)
	e.hv.onStart = func(p *fakeProc, _ qemu.Spec) {
		p.srv.Handle("migrate", func(json.RawMessage) (any, *qmptest.Error) {
			return nil, &qmptest.Error{Class: "GenericError", Desc: "disk full"}
		})
	}
	inst := e.running("web")
	e.act(inst.ID, ActSuspend)
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if got.Fault == "" || e.hv.proc(inst.ID).srv.Status() != "running" {
		t.Errorf("fault %q, QEMU %s: want the reason recorded and the guest resumed", got.Fault, e.hv.proc(inst.ID).srv.Status())
	}
	if _, err := os.Stat(e.svc.statePath(inst.ID) + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("partial state file left: %v", err)
	}
}

func TestRebuildRunningInstanceMakesAFreshDiskAndBootsIt(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	e.act(inst.ID, ActRebuild)
	waitStarts(t, e.hv, 2)
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if got.BootVolumeID == inst.BootVolumeID || got.BootVolumeID == "" {
		t.Errorf("boot volume %q after rebuild, was %q: want a fresh one", got.BootVolumeID, inst.BootVolumeID)
	}
	if _, err := e.vols.Get(context.Background(), "", inst.BootVolumeID); err == nil {
		t.Error("the old boot volume still exists")
	}
	e.hv.mu.Lock()
	spec := e.hv.starts[len(e.hv.starts)-1]
	e.hv.mu.Unlock()
	if v, _ := e.vols.Get(context.Background(), "", got.BootVolumeID); spec.Disks[0].Path != v.Path {
		t.Errorf("rebuilt instance boots %s, want its new volume %s", spec.Disks[0].Path, v.Path)
	}
}

func TestResizeStoppedInstance(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if _, err := e.svc.Act(context.Background(), testProject, inst.ID, ActResize, ActionArgs{Flavor: "m1.small"}); err != nil {
		t.Fatal(err)
	}
	got := e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if got.Flavor.Name != "m1.small" || got.Flavor.RAMMiB != 2048 {
		t.Errorf("flavor after resize: %+v", got.Flavor)
	}
	_, err := e.svc.Act(context.Background(), testProject, inst.ID, ActResize, ActionArgs{Flavor: "m1.tiny"})
	if err == nil {
		t.Error("a shrinking resize was accepted")
	}
}

// waitCommands waits until the commands after the first n contain want in order (not necessarily adjacent).
func waitCommands(t *testing.T, p *fakeProc, n int, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := after(p, n)
		if isSubsequence(want, got) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("commands %v, want %v in that order", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}
