package compute

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"slices"
	"sync"
	"testing"
)

// fakeAgent is a QEMU guest agent on the instance's agent socket: it answers guest-sync and records the
// freeze and thaw commands.
type fakeAgent struct {
	mu   sync.Mutex
	cmds []string
}

func startFakeAgent(t *testing.T, path string) *fakeAgent {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	a := &fakeAgent{}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go a.serve(conn)
		}
	}()
	return a
}

func (a *fakeAgent) serve(conn net.Conn) {
	defer conn.Close()
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		var req struct {
			Execute   string
			Arguments struct{ ID int64 }
		}
		if json.Unmarshal(sc.Bytes(), &req) != nil {
			return
		}
		a.mu.Lock()
		a.cmds = append(a.cmds, req.Execute)
		a.mu.Unlock()
		var ret any = 1
		if req.Execute == "guest-sync" {
			ret = req.Arguments.ID
		}
		json.NewEncoder(conn).Encode(map[string]any{"return": ret})
	}
}

func (a *fakeAgent) commands() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.cmds)
}

func TestLiveSnapshotFreezesTheGuestWhenItHasAnAgent(t *testing.T) {
	e := newEnv(t, nil)
	e.hv.onStart = guestReleasesDisks
	inst := e.running("web")
	agent := startFakeAgent(t, e.svc.paths(inst.ID).Agent)
	data := e.vols.add("data")
	if _, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", false); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SnapshotVolume(context.Background(), inst.ID, data.ID, data.Path); err != nil {
		t.Fatal(err)
	}
	if got, want := agent.commands(), []string{"guest-sync", "guest-fsfreeze-freeze", "guest-fsfreeze-thaw"}; !slices.Equal(got, want) {
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
