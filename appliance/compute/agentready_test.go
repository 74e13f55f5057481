package compute

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/qemu/qga/qgatest"
)

// cloudInitDone is cloud-init's result.json of a boot without errors.
const cloudInitDone = `{"v1": {"datasource": "DataSourceNoCloud [seed=/dev/sr0]", "errors": []}}`

// waitAgentCommands polls until the fake agent got cmd at least n times.
func waitAgentCommands(t *testing.T, a *qgatest.Agent, cmd string, n int) {
	t.Helper()
	count := func() (c int) {
		for _, got := range a.Commands() {
			if got == cmd {
				c++
			}
		}
		return c
	}
	for deadline := time.Now().Add(10 * time.Second); count() < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("agent got %s %d times, want %d (%v)", cmd, count(), n, a.Commands())
		}
	}
}

// waitHandlesClosed polls until no file handle of the guest is open: the poller, which may be between
// an open and its close at any moment, left none behind.
func waitHandlesClosed(t *testing.T, a *qgatest.Agent) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); a.OpenHandles() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d file handles left open in the guest, want all closed", a.OpenHandles())
		}
	}
}

// readyVia is how the instance's boot was ready ("" while it is not).
func (e *env) readyVia(id string) string {
	e.t.Helper()
	inst, err := e.svc.Get(context.Background(), testProject, id)
	if err != nil {
		e.t.Fatal(err)
	}
	if inst.ReadyAt == nil {
		return ""
	}
	return inst.ReadyVia
}

// waitReady polls until the instance's boot is ready.
func (e *env) waitReady(id string) string {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); e.readyVia(id) == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.t.Fatalf("instance %s never ready", id)
		}
	}
	return e.readyVia(id)
}

func TestACloudInitGuestIsReadyThroughItsAgentOnlyOnceCloudInitHasFinished(t *testing.T) {
	e, _ := agentEnv(t, nil)
	inst, agent := e.runningWithAgentFiles("web", map[string]string{cloudInitEnabled: ""})
	waitAgentCommands(t, agent, "guest-file-open", 6) // three polls: enabled, then no result.json yet
	if via := e.readyVia(inst.ID); via != "" {
		t.Fatalf("ready via %q while cloud-init runs, want not ready", via)
	}
	agent.SetFile(cloudInitResult, cloudInitDone)
	if via := e.waitReady(inst.ID); via != ReadyViaAgent {
		t.Errorf("ready via %q, want via the agent once result.json exists", via)
	}
	waitHandlesClosed(t, agent)
}

func TestAGuestWithoutCloudInitIsReadyAtItsAgentsFirstAnswer(t *testing.T) {
	e, _ := agentEnv(t, nil)
	inst, agent := e.runningWithAgent("web") // no /run/cloud-init/enabled
	if via := e.waitReady(inst.ID); via != ReadyViaAgent {
		t.Errorf("ready via %q, want via the agent", via)
	}
	if !saw(agent, "guest-file-open") || saw(agent, "guest-file-read") {
		t.Errorf("agent saw %v, want one look for cloud-init and no read", agent.Commands())
	}
}

func TestAReadinessFromAnotherSourceEndsTheAgentsQuestion(t *testing.T) {
	e, _ := agentEnv(t, nil)
	inst, agent := e.runningWithAgentFiles("web", map[string]string{cloudInitEnabled: ""})
	if err := e.svc.MarkGuestReady(context.Background(), inst.ID, ReadyViaPhoneHome); err != nil {
		t.Fatal(err)
	}
	waitAgentCommands(t, agent, "guest-get-host-name", 3) // two more polls after the phone-home at least
	opens := strings.Count(strings.Join(agent.Commands(), " "), "guest-file-open")
	waitAgentCommands(t, agent, "guest-get-host-name", 5)
	if now := strings.Count(strings.Join(agent.Commands(), " "), "guest-file-open"); now != opens {
		t.Errorf("agent asked about cloud-init again (%d then %d opens) after the guest was ready", opens, now)
	}
	if via := e.readyVia(inst.ID); via != ReadyViaPhoneHome {
		t.Errorf("ready via %q, want the phone-home that came first", via)
	}
}

// An agent that cannot tell whether cloud-init has finished never marks the guest ready: it refuses
// guest-file-*, garbles or lies in guest-file-read, or result.json is over the cap or not cloud-init's.
// It is logged; the guest info still comes, and every handle opened is closed.
func TestAnAgentThatCannotTellWhetherCloudInitFinishedMarksNoReadiness(t *testing.T) {
	for _, tc := range []struct {
		name      string
		misbehave func(*qgatest.Agent) // nil: honest
		result    string
		log       string
	}{
		{"guest-file-* blocked", blockFiles, cloudInitDone, "it cannot read cloud-init's state"},
		{"garbage reads", func(a *qgatest.Agent) { a.Handle("guest-file-read", qgatest.Garbage) }, cloudInitDone, "malformed guest agent reply"},
		{"lying reads", func(a *qgatest.Agent) { // a count its buffer does not have
			a.Handle("guest-file-read", qgatest.Return(`{"count": 7, "buf-b64": "", "eof": true}`))
		}, cloudInitDone, "malformed guest agent reply"},
		{"oversized result", nil, strings.Repeat("x", 100<<10), "guest file over the size cap"},
		{"result not cloud-init's", nil, "<html>not json", "not cloud-init's result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, logs := agentEnv(t, nil)
			inst := e.running("web")
			agent := startAgent(t, e.svc.paths(inst.ID).Agent, map[string]string{cloudInitEnabled: "", cloudInitResult: tc.result})
			if tc.misbehave != nil {
				tc.misbehave(agent)
			}
			waitLog(t, logs, tc.log)
			e.waitGuestInfo(inst.ID, func(g *GuestInfo) bool { return g != nil && g.Hostname == "web-guest" })
			if via := e.readyVia(inst.ID); via != "" {
				t.Errorf("ready via %q, want not ready", via)
			}
			waitHandlesClosed(t, agent)
		})
	}
}

// blockFiles makes the agent refuse guest-file-*, as qemu-ga with them blocked does.
func blockFiles(a *qgatest.Agent) {
	for _, cmd := range []string{"guest-file-open", "guest-file-read", "guest-file-close"} {
		a.Handle(cmd, qgatest.Blocked)
	}
}

func TestCloudInitsErrorsAreLoggedCappedWhenTheAgentMarksReady(t *testing.T) {
	e, logs := agentEnv(t, nil)
	long := `\u001b[31m` + strings.Repeat("e", 1000)
	inst, _ := e.runningWithAgentFiles("web", map[string]string{cloudInitEnabled: "",
		cloudInitResult: `{"v1": {"errors": ["` + long + `", "b", "c", "d"]}}`})
	if via := e.waitReady(inst.ID); via != ReadyViaAgent {
		t.Errorf("ready via %q, want via the agent", via)
	}
	waitLog(t, logs, "cloud-init finished with errors")
	line := logs.String()[strings.Index(logs.String(), "cloud-init finished with errors"):]
	line = line[:strings.IndexByte(line, '\n')]
	if !strings.Contains(line, "count=4") || strings.Contains(line, strings.Repeat("e", 201)) ||
		strings.Contains(line, `\x1b`) || strings.Contains(line, `\u001b`) || strings.Contains(line, " d]") {
		t.Errorf("log %q, want the count and the first 3 errors cut to 200 bytes", line)
	}
}
