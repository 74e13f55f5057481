package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

func TestCreateBootsPausedThenContAndRecordsTimeline(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	if got := p.srv.Commands(); !slices.Contains(got, "cont") {
		t.Fatalf("QMP commands %v: want cont", got)
	}
	if inst.PID != p.pid {
		t.Errorf("pid %d, want %d", inst.PID, p.pid)
	}
	var names []string
	for _, s := range inst.Timeline {
		names = append(names, s.Name)
	}
	want := []string{StageAccepted, StageExec, StageQMPReady, StageCont}
	if !slices.Equal(names[:4], want) {
		t.Errorf("timeline %v, want it to start with %v", names, want)
	}
	boot, err := e.vols.Get(context.Background(), "", inst.BootVolumeID)
	if err != nil || !boot.Boot || !boot.DeleteOnTermination || boot.InstanceID != inst.ID {
		t.Errorf("boot volume %+v (%v): want one attached as boot, deleted with the instance", boot, err)
	}
	e.hv.mu.Lock()
	spec := e.hv.starts[0]
	e.hv.mu.Unlock()
	if spec.UUID != inst.ID || spec.VCPUs != 1 || spec.MemoryMiB != 512 || spec.Disks[0].Path != boot.Path || spec.Disks[0].BootIndex != 1 {
		t.Errorf("spec %+v does not match the instance", spec)
	}
	evs := e.events(inst.ID)
	if !contains(evs, "instance.created") || !contains(evs, `"vm_state":"active"`) {
		t.Errorf("events %v: want created and active", evs)
	}
}

func TestIllegalActionsAnswerConflictNamingTheState(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	for _, a := range []Action{ActStart, ActUnpause, ActResume, ActResize} {
		_, err := e.svc.Act(context.Background(), testProject, inst.ID, a, ActionArgs{Flavor: "m1.small"})
		if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "vm_state is active") {
			t.Errorf("%s on an active instance: got %v, want a conflict naming vm_state active", a, err)
		}
	}
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	for _, a := range []Action{ActStop, ActPause, ActReboot, ActSuspend} {
		_, err := e.svc.Act(context.Background(), testProject, inst.ID, a, ActionArgs{})
		if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "stopped") {
			t.Errorf("%s on a stopped instance: got %v, want a conflict naming stopped", a, err)
		}
	}
}

func TestBadCreateRequestsLeaveNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.running("taken")
	for _, c := range []struct {
		name string
		r    CreateRequest
		kind fault.Kind
	}{
		{"unknown flavor", CreateRequest{Name: "a", Flavor: "nope", Image: "img"}, fault.Invalid},
		{"unknown image", CreateRequest{Name: "a", Flavor: "m1.tiny", Image: "nope"}, fault.Invalid},
		{"bad name", CreateRequest{Name: "../x", Flavor: "m1.tiny", Image: "img"}, fault.Invalid},
		{"duplicate name", CreateRequest{Name: "taken", Flavor: "m1.tiny", Image: "img"}, fault.Conflict},
		{"bad restart policy", CreateRequest{Name: "a", Flavor: "m1.tiny", Image: "img", RestartPolicy: "always"}, fault.Invalid},
		{"absurd autostart order", CreateRequest{Name: "a", Flavor: "m1.tiny", Image: "img", AutostartOrder: -1}, fault.Invalid},
	} {
		c.r.ProjectID = testProject
		_, err := e.svc.Create(context.Background(), c.r)
		if fault.KindOf(err) != c.kind {
			t.Errorf("%s: got %v (kind %q), want kind %q", c.name, err, fault.KindOf(err), c.kind)
		}
	}
	all, _ := e.svc.List(context.Background(), testProject)
	if len(all) != 1 || e.hv.startCount() != 1 {
		t.Errorf("after bad requests: %d instances, %d QEMU starts; want 1 and 1", len(all), e.hv.startCount())
	}
	entries, _ := os.ReadDir(e.o.StateDir)
	if len(entries) != 1 {
		t.Errorf("state dirs %d, want 1", len(entries))
	}
}

func TestStopAsksTheGuestFirst(t *testing.T) {
	e := newEnv(t, nil)
	e.hv.onStart = func(p *fakeProc, _ qemu.Spec) { p.srv.PowerdownShutsDown(true) }
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	e.act(inst.ID, ActStop)
	got := e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if cmds := p.srv.Commands(); !slices.Contains(cmds, "system_powerdown") || slices.Contains(cmds, "quit") || p.killed {
		t.Errorf("commands %v killed=%v: want only the ACPI powerdown", cmds, p.killed)
	}
	if got.PID != 0 {
		t.Errorf("pid %d after stop, want 0", got.PID)
	}
	if _, err := os.Stat(e.svc.runDir(inst.ID)); !os.IsNotExist(err) {
		t.Errorf("run dir still there after stop: %v", err)
	}
	if evs := e.events(inst.ID); slices.ContainsFunc(evs, func(ev string) bool { return strings.HasPrefix(ev, "instance.shutdown_timeout") }) {
		t.Errorf("events %v: a guest that powered off in time has no shutdown_timeout", evs)
	}
}

func TestStopEscalatesToQuitWhenTheGuestIgnoresTheButton(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if cmds := p.srv.Commands(); !slices.Contains(cmds, "system_powerdown") || !slices.Contains(cmds, "quit") {
		t.Errorf("commands %v: want powerdown, then quit", cmds)
	}
	if p.killed {
		t.Error("QEMU was killed although quit worked")
	}
	if evs := e.events(inst.ID); !slices.ContainsFunc(evs, func(ev string) bool {
		return strings.HasPrefix(ev, `instance.shutdown_timeout {"stop_timeout":"500ms"}`)
	}) {
		t.Errorf("events %v: want instance.shutdown_timeout with the stop_timeout", evs)
	}
}

func TestStopKillsAQEMUThatDoesNotAnswer(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	p.srv.Hang(true)
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if !p.killed {
		t.Error("a hung QEMU was not killed")
	}
}

func TestPauseAndUnpause(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	e.act(inst.ID, ActPause)
	e.waitFor(inst.ID, VMPaused, PowerPaused)
	if s := e.hv.proc(inst.ID).srv.Status(); s != "paused" {
		t.Errorf("QEMU status %s, want paused", s)
	}
	e.act(inst.ID, ActUnpause)
	e.waitFor(inst.ID, VMActive, PowerRunning)
}

func TestQEMUEventsDriveTheStates(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	srv := e.hv.proc(inst.ID).srv
	srv.SetStatus("paused")
	srv.Emit(qmp.EventStop, nil)
	e.waitFor(inst.ID, VMPaused, PowerPaused)
	srv.SetStatus("running")
	srv.Emit(qmp.EventResume, nil)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	srv.Emit(qmp.EventReset, map[string]any{"guest": true, "reason": "guest-reset"})
	deadline := time.Now().Add(5 * time.Second)
	for !contains(e.events(inst.ID), "instance.reset") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !contains(e.events(inst.ID), "instance.reset") {
		t.Error("no instance.reset event after RESET")
	}
}

func TestGuestPowerOffIsAStopNotACrash(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.CrashLoopLimit = 5 })
	inst := e.create("web")
	e.waitFor(inst.ID, VMActive, PowerRunning)
	p := e.hv.proc(inst.ID)
	p.srv.Emit(qmp.EventShutdown, map[string]any{"guest": true, "reason": "guest-shutdown"})
	time.Sleep(50 * time.Millisecond)
	p.die("exit status 0")
	got := e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if got.Fault != "" || len(got.Crashes) != 0 {
		t.Errorf("fault %q crashes %v after a guest power-off", got.Fault, got.Crashes)
	}
}

func TestCrashRestartPolicyAndCrashLoopLimit(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.CrashLoopLimit = 2 })
	inst, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: "web",
		Flavor: "m1.tiny", Image: "img", RestartPolicy: RestartOnCrash})
	if err != nil {
		t.Fatal(err)
	}
	for crash := 1; crash <= 2; crash++ {
		e.waitFor(inst.ID, VMActive, PowerRunning)
		e.hv.proc(inst.ID).die("signal: killed")
		waitStarts(t, e.hv, crash+1)
	}
	e.waitFor(inst.ID, VMActive, PowerRunning)
	e.hv.proc(inst.ID).die("signal: killed")
	got := e.waitFor(inst.ID, VMError, PowerCrashed)
	if !strings.Contains(got.Fault, "crash loop") || e.hv.startCount() != 3 {
		t.Errorf("fault %q after %d starts: want a crash-loop error after 3", got.Fault, e.hv.startCount())
	}
}

func TestCrashWithoutRestartPolicyStaysCrashed(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	e.hv.proc(inst.ID).die("signal: killed")
	got := e.waitFor(inst.ID, VMStopped, PowerCrashed)
	if !strings.Contains(got.Fault, "QEMU exited unexpectedly (signal: killed)") {
		t.Errorf("fault %q", got.Fault)
	}
	time.Sleep(300 * time.Millisecond)
	if e.hv.startCount() != 1 {
		t.Errorf("restarted %d times under restart_policy never", e.hv.startCount()-1)
	}
}

func TestHungQEMUTurnsErrorAndHardStopStillWorks(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	p.srv.Hang(true)
	got := e.waitFor(inst.ID, VMError, PowerNoState)
	if !strings.Contains(got.Fault, faultUnresponsive) {
		t.Errorf("fault %q", got.Fault)
	}
	start := time.Now()
	if _, err := e.svc.Get(context.Background(), testProject, inst.ID); err != nil || time.Since(start) > time.Second {
		t.Fatalf("show took %s (err %v) with a hung QEMU", time.Since(start), err)
	}
	e.act(inst.ID, ActHardStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if !p.killed {
		t.Error("hard stop did not kill the hung QEMU")
	}
}

func TestNoCapacityIsAClearErrorAndClaimsNothing(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Capacity = Capacity{VCPUs: 1, MemoryMiB: 4096} })
	first := e.running("one")
	_, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: "two", Flavor: "m1.tiny", Image: "img"})
	if fault.KindOf(err) != fault.NoCapacity || !strings.Contains(err.Error(), "vcpus") {
		t.Fatalf("second instance: %v, want no capacity naming vcpus", err)
	}
	e.act(first.ID, ActStop)
	e.waitFor(first.ID, VMStopped, PowerShutdown)
	second := e.running("two")
	_, err = e.svc.Act(context.Background(), testProject, first.ID, ActStart, ActionArgs{})
	if fault.KindOf(err) != fault.NoCapacity {
		t.Fatalf("start beyond capacity: %v", err)
	}
	if got, _ := e.svc.Get(context.Background(), testProject, first.ID); got.TaskState != TaskNone || got.VMState != VMStopped {
		t.Errorf("refused start left %s/%q", got.VMState, got.TaskState)
	}
	_ = second
}

func TestDeleteFreesEverything(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	if _, err := e.svc.Delete(context.Background(), testProject, inst.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := e.svc.Get(context.Background(), testProject, inst.ID); fault.KindOf(err) == fault.NotFound {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := e.svc.Get(context.Background(), testProject, inst.ID); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("instance still there: %v", err)
	}
	select {
	case <-p.exited:
	default:
		t.Error("QEMU still running after delete")
	}
	for _, dir := range []string{e.svc.runDir(inst.ID), e.svc.stateDir(inst.ID)} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", dir, err)
		}
	}
	if !contains(e.events(inst.ID), "instance.deleted") {
		t.Error("no instance.deleted event")
	}
	if n := e.vols.count(); n != 0 {
		t.Errorf("%d volumes left: the boot volume is deleted with its instance", n)
	}
}

func TestEventsArrivingDuringAnActionAreNotLost(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	// The guest panics while a pause is being processed: the panic must still count when QEMU exits.
	// The handler replaces the fake's own "stop", so it pauses the fake VM itself, as QEMU would: a
	// health check's query-status must see the guest paused, not running.
	p.srv.Handle("stop", func(json.RawMessage) (any, *qmptest.Error) {
		p.srv.Emit(qmp.EventGuestPanicked, map[string]any{"action": "pause"})
		p.srv.SetStatus("paused")
		return map[string]any{}, nil
	})
	e.act(inst.ID, ActPause)
	e.waitFor(inst.ID, VMPaused, PowerPaused)
	p.die("exit status 0")
	got := e.waitFor(inst.ID, VMStopped, PowerCrashed)
	if !strings.Contains(got.Fault, "panicked") {
		t.Errorf("fault %q, want the panic recorded", got.Fault)
	}
}

func waitStarts(t *testing.T, hv *fakeHV, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for hv.startCount() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if hv.startCount() < n {
		t.Fatalf("%d QEMU starts, want %d", hv.startCount(), n)
	}
}

func TestStopOfAPausedGuestSkipsThePowerButton(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.StopTimeout = time.Hour })
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	e.act(inst.ID, ActPause)
	e.waitFor(inst.ID, VMPaused, PowerPaused)
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if cmds := p.srv.Commands(); slices.Contains(cmds, "system_powerdown") || !slices.Contains(cmds, "quit") {
		t.Errorf("commands %v: a paused guest cannot answer the button; want quit at once", cmds)
	}
}

// TestAPanicJustBeforeTheExitIsRecorded: QEMU reports the guest's panic and exits at once; the exit
// must not be handled before the event that explains it (both are ready at the same moment).
func TestAPanicJustBeforeTheExitIsRecorded(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 5 {
		inst := e.running(fmt.Sprintf("web%d", i))
		p := e.hv.proc(inst.ID)
		p.srv.Emit(qmp.EventGuestPanicked, map[string]any{"action": "poweroff"})
		p.die("exit status 0")
		got := e.waitFor(inst.ID, VMStopped, PowerCrashed)
		if !strings.Contains(got.Fault, "panicked") {
			t.Errorf("%s: fault %q, want the panic recorded", inst.Name, got.Fault)
		}
	}
}

// A hard-stop accepted while a pause runs writes its task at once and interrupts the pause a moment
// later: a pause finishing in between must not write its paused/no-task over the hard-stop's task —
// a daemon killed before the hard-stop ran would forget it (make soak CYCLES=1000, seed
// 1796618812449414604, cycle 700).
func TestACommandFinishingAsAHardStopIsAcceptedKeepsTheHardStopsTask(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	srv := e.hv.proc(inst.ID).srv
	srv.Handle("stop", func(json.RawMessage) (any, *qmptest.Error) {
		srv.SetStatus("paused")
		setTask(t, e, inst.ID, TaskPoweringOff) // the hard-stop's acceptance, before its interrupt
		return map[string]any{}, nil
	})
	e.act(inst.ID, ActPause)
	if err := e.svc.call(context.Background(), inst.ID, func(context.Context, *supervisor) error { return nil }); err != nil {
		t.Fatal(err) // queued behind the pause: it has finished
	}
	got, err := e.svc.Get(context.Background(), testProject, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TaskState != TaskPoweringOff {
		t.Errorf("after the pause: %s/%s task %q, want the hard-stop's task %q kept", got.VMState, got.PowerState, got.TaskState, TaskPoweringOff)
	}
}
