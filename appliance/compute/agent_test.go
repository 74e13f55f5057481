package compute

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qga/qgatest"
	"cloudlet/internal/testkit"
)

// agentEnv is a test env whose guest agents are asked often, with a short deadline, and whose log is
// kept; a guest that obeys the ACPI button powers off at once.
func agentEnv(t *testing.T, tweak func(*Options)) (*env, *testkit.SyncBuffer) {
	logs := &testkit.SyncBuffer{}
	e := newEnv(t, func(o *Options) {
		o.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.AgentTimeout, o.AgentProbeInterval, o.AgentPollInterval = 200*time.Millisecond, 20*time.Millisecond, 50*time.Millisecond
		o.StopTimeout = 5 * time.Second
		if tweak != nil {
			tweak(o)
		}
	})
	e.hv.onStart = func(p *fakeProc, _ qemu.Spec) { p.srv.PowerdownShutsDown(true) }
	return e, logs
}

// startAgent starts a fake guest agent at path (a link to its socket, as fakeHV links QMP's) whose
// guest has files (path → content).
func startAgent(t *testing.T, path string, files map[string]string) *qgatest.Agent {
	t.Helper()
	a := qgatest.New(t)
	for p, content := range files {
		a.SetFile(p, content)
	}
	os.Remove(path)
	if err := os.Symlink(a.Path(), path); err != nil {
		t.Fatal(err)
	}
	return a
}

// saw reports whether the agent got command.
func saw(a *qgatest.Agent, command string) bool { return slices.Contains(a.Commands(), command) }

// runningWithAgent starts an instance whose guest runs an honest agent, and waits until the agent
// has been heard; the agent's guest-shutdown powers the fake guest off.
func (e *env) runningWithAgent(name string) (*Instance, *qgatest.Agent) {
	e.t.Helper()
	return e.runningWithAgentFiles(name, nil)
}

// runningWithAgentFiles is runningWithAgent for a guest that has files (path → content).
func (e *env) runningWithAgentFiles(name string, files map[string]string) (*Instance, *qgatest.Agent) {
	e.t.Helper()
	inst := e.running(name)
	agent := startAgent(e.t, e.svc.paths(inst.ID).Agent, files)
	p := e.hv.proc(inst.ID)
	agent.OnShutdown(func(string) {
		p.srv.Emit("SHUTDOWN", map[string]any{"guest": true, "reason": "guest-shutdown"})
		p.die("exit status 0")
	})
	e.waitGuestInfo(inst.ID, func(g *GuestInfo) bool { return g != nil })
	return inst, agent
}

// waitGuestInfo polls show until its guest agent information satisfies ok.
func (e *env) waitGuestInfo(id string, ok func(*GuestInfo) bool) *GuestInfo {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := e.svc.Show(context.Background(), testProject, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if ok(d.GuestAgent) {
			return d.GuestAgent
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("instance %s: guest agent info %+v never as wanted", id, d.GuestAgent)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLog polls until the log holds s.
func waitLog(t *testing.T, logs *testkit.SyncBuffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), s); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q", s)
		}
	}
}

func TestShowHasWhatTheGuestAgentSaysWhileTheInstanceRuns(t *testing.T) {
	e, _ := agentEnv(t, nil)
	inst, _ := e.runningWithAgent("web")
	got := e.waitGuestInfo(inst.ID, func(g *GuestInfo) bool { return g != nil })
	want := []GuestInterface{{Interface: "eth0", MAC: "52:54:00:12:34:56", IPs: []string{"10.9.0.5/24"}}}
	if got.Hostname != "web-guest" || got.OS != "Debian GNU/Linux 12 (bookworm)" || !slices.EqualFunc(got.Interfaces, want,
		func(a, b GuestInterface) bool {
			return a.Interface == b.Interface && a.MAC == b.MAC && slices.Equal(a.IPs, b.IPs)
		}) ||
		got.UpdatedAt.IsZero() {
		t.Errorf("guest agent info %+v, want web-guest, Debian 12 and eth0 with 10.9.0.5/24", got)
	}
	if ready, _ := e.svc.Get(context.Background(), testProject, inst.ID); ready.ReadyVia != ReadyViaAgent || ready.ReadyAt == nil {
		t.Errorf("ready via %q at %v, want via the agent's first answer", ready.ReadyVia, ready.ReadyAt)
	}
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if d, _ := e.svc.Show(context.Background(), testProject, inst.ID); d.GuestAgent != nil {
		t.Errorf("guest agent info %+v of a stopped instance, want none", d.GuestAgent)
	}
}

func TestAfterADaemonRestartTheGuestAgentIsAskedAgainAndStopUsesIt(t *testing.T) {
	e, _ := agentEnv(t, nil)
	inst, agent := e.runningWithAgent("web")
	e.svc.Close()
	e.start() // the daemon restarts; QEMU and its guest keep running
	e.waitGuestInfo(inst.ID, func(g *GuestInfo) bool { return g != nil && g.Hostname == "web-guest" })
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if !saw(agent, "guest-shutdown") {
		t.Errorf("agent saw %v, want the stop through guest-shutdown", agent.Commands())
	}
}

func TestTheAgentMarksNoReadinessWhenConfiguredNotTo(t *testing.T) {
	e, _ := agentEnv(t, func(o *Options) { o.IgnoreAgentReady = true })
	inst, _ := e.runningWithAgent("web")
	if got, _ := e.svc.Get(context.Background(), testProject, inst.ID); got.ReadyAt != nil {
		t.Errorf("ready via %q, want not ready: the agent is no readiness source here", got.ReadyVia)
	}
}

func TestStopGoesThroughTheGuestAgentWhenItAnswers(t *testing.T) {
	e, _ := agentEnv(t, nil)
	inst, agent := e.runningWithAgent("web")
	p := e.hv.proc(inst.ID)
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if !saw(agent, "guest-shutdown") || slices.Contains(p.srv.Commands(), "system_powerdown") {
		t.Errorf("agent saw %v, QEMU %v: want guest-shutdown and no ACPI button", agent.Commands(), p.srv.Commands())
	}
	if evs := e.events(inst.ID); !contains(evs, `instance.shutdown_requested {"mode":"powerdown","via":"guest-agent"}`) {
		t.Errorf("events %v, want the stop asked through the guest agent", evs)
	}
}

func TestSoftRebootGoesThroughTheGuestAgentWhenItAnswers(t *testing.T) {
	e, _ := agentEnv(t, nil)
	inst, agent := e.runningWithAgent("web")
	p := e.hv.proc(inst.ID)
	agent.OnShutdown(func(mode string) {
		if mode == "reboot" {
			p.srv.Emit("RESET", map[string]any{"guest": true, "reason": "guest-reset"})
		}
	})
	e.act(inst.ID, ActReboot)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if cmds := p.srv.Commands(); slices.Contains(cmds, "system_powerdown") || slices.Contains(cmds, "system_reset") {
		t.Errorf("QEMU got %v: want the guest to reboot itself, no ACPI button and no hard reset", cmds)
	}
	if evs := e.events(inst.ID); !contains(evs, `instance.shutdown_requested {"mode":"reboot","via":"guest-agent"}`) {
		t.Errorf("events %v, want the reboot asked through the guest agent", evs)
	}
}

func TestAGuestWithoutAnAgentIsStoppedWithTheACPIButtonAtOnce(t *testing.T) {
	e, _ := agentEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if !slices.Contains(p.srv.Commands(), "system_powerdown") {
		t.Errorf("QEMU got %v, want the ACPI button", p.srv.Commands())
	}
	if evs := e.events(inst.ID); !contains(evs, `instance.shutdown_requested {"mode":"powerdown","via":"acpi"}`) {
		t.Errorf("events %v, want the stop asked with the ACPI button", evs)
	}
}

// An agent that answered once and then floods, garbles, lies about the sync or hangs: each poll fails
// within the deadline and is logged, show keeps the last good answer, and a stop falls back to the
// ACPI button, bounded by a few agent deadlines.
func TestAMisbehavingAgentCostsTheInstanceNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		misbehave func(*qgatest.Agent)
	}{
		{"flood", func(a *qgatest.Agent) { a.HandleEvery(qgatest.Flood) }},
		{"garbage", func(a *qgatest.Agent) { a.HandleEvery(qgatest.Garbage) }},
		{"wrong-sync", func(a *qgatest.Agent) { a.Handle("guest-sync-delimited", qgatest.WrongSync) }},
		{"hang", func(a *qgatest.Agent) { a.HandleEvery(qgatest.Silent) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, logs := agentEnv(t, nil)
			inst, agent := e.runningWithAgent("web")
			p := e.hv.proc(inst.ID)
			tc.misbehave(agent)
			waitLog(t, logs, "guest agent: bad or no answer")
			if d, _ := e.svc.Show(context.Background(), testProject, inst.ID); d.GuestAgent == nil || d.GuestAgent.Hostname != "web-guest" {
				t.Errorf("guest agent info %+v, want the last good answer", d.GuestAgent)
			}
			start := time.Now()
			e.act(inst.ID, ActStop)
			e.waitFor(inst.ID, VMStopped, PowerShutdown)
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("stop took %v, want it bounded by the agent's deadline", took)
			}
			if saw(agent, "guest-shutdown") && tc.name != "hang" || !slices.Contains(p.srv.Commands(), "system_powerdown") {
				t.Errorf("agent saw %v, QEMU %v: want the ACPI button", agent.Commands(), p.srv.Commands())
			}
		})
	}
}

// An agent whose sync is honest but whose answers lie: addresses that do not parse fail the poll (the
// last good answer stays); a huge host name with control characters is cut and cleaned.
func TestAnAgentThatLiesInItsAnswersIsCheckedAgainstTheSchema(t *testing.T) {
	e, logs := agentEnv(t, nil)
	inst, agent := e.runningWithAgent("web")
	agent.Handle("guest-network-get-interfaces",
		qgatest.Return(`[{"name": "eth0", "ip-addresses": [{"ip-address": "10.9.0.999", "prefix": 24}]}]`))
	waitLog(t, logs, "malformed guest agent reply")
	if d, _ := e.svc.Show(context.Background(), testProject, inst.ID); d.GuestAgent == nil || len(d.GuestAgent.Interfaces) != 1 ||
		d.GuestAgent.Interfaces[0].IPs[0] != "10.9.0.5/24" {
		t.Errorf("guest agent info %+v, want the last good addresses", d.GuestAgent)
	}
	agent.Handle("guest-network-get-interfaces", nil)
	agent.Handle("guest-get-host-name", qgatest.Return(`{"host-name": "`+strings.Repeat(`h\u0007`, 5000)+`"}`))
	got := e.waitGuestInfo(inst.ID, func(g *GuestInfo) bool { return g != nil && strings.HasPrefix(g.Hostname, "hh") })
	if len(got.Hostname) != 255 || strings.ContainsRune(got.Hostname, '\a') {
		t.Errorf("host name of %d bytes (%q…), want 255 without control characters", len(got.Hostname), got.Hostname[:8])
	}
}

func TestLiveSnapshotFreezesTheGuestWhenItHasAnAgent(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AgentProbeInterval = time.Hour }) // no poller traffic in the transcript
	e.hv.onStart = guestReleasesDisks
	inst := e.running("web")
	agent := startAgent(t, e.svc.paths(inst.ID).Agent, nil)
	data := e.vols.add("data")
	if _, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", false); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SnapshotVolume(context.Background(), inst.ID, data.ID, data.Path); err != nil {
		t.Fatal(err)
	}
	if got, want := agent.Commands(), []string{"guest-sync-delimited", "guest-fsfreeze-freeze", "guest-fsfreeze-thaw"}; !slices.Equal(got, want) {
		t.Errorf("agent saw %v, want %v", got, want)
	}
	if !contains(e.events(inst.ID), "instance.fs_frozen") {
		t.Error("no instance.fs_frozen event")
	}
}

func TestLiveSnapshotWithoutAnAgentStillWorks(t *testing.T) {
	e := newEnv(t, nil)
	e.hv.onStart = guestReleasesDisks
	inst := e.running("web")
	data := e.vols.add("data")
	if _, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", false); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SnapshotVolume(context.Background(), inst.ID, data.ID, data.Path); err != nil {
		t.Fatal(err)
	}
	if contains(e.events(inst.ID), "instance.fs_frozen") {
		t.Error("froze a guest that has no agent")
	}
}
