package compute

import (
	"context"
	"slices"
	"testing"
	"time"
)

// queryStatuses counts the health checks (query-status) a fake QEMU has answered.
func queryStatuses(p *fakeProc) int {
	n := 0
	for _, c := range p.srv.Commands() {
		if c == "query-status" {
			n++
		}
	}
	return n
}

func TestAHealthCheckThatFindsWhatTheCatalogSaysWritesNothing(t *testing.T) {
	e := newEnv(t, nil) // a health check every 100 ms
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	// The supervisor runs one check at a time: once QEMU has seen three more query-status, the first
	// two checks after inst was read are over, their catalog writes included.
	want := queryStatuses(p) + 3
	deadline := time.Now().Add(10 * time.Second)
	for queryStatuses(p) < want {
		if time.Now().After(deadline) {
			t.Fatalf("QEMU answered %d query-status in 10 s, want %d", queryStatuses(p), want)
		}
		select {
		case <-p.exited:
			t.Fatal("the fake QEMU exited")
		case <-time.After(10 * time.Millisecond):
		}
	}
	now, err := e.svc.Get(context.Background(), testProject, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if now.Revision != inst.Revision || !now.UpdatedAt.Equal(inst.UpdatedAt) {
		t.Errorf("after two health checks that agree with the catalog: revision %d, updated_at %v; want %d, %v unchanged",
			now.Revision, now.UpdatedAt, inst.Revision, inst.UpdatedAt)
	}
}

func TestAHealthCheckStillRecordsWhatQEMUSaysWhenTheCatalogDisagrees(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	e.hv.proc(inst.ID).srv.SetStatus("paused") // paused behind the daemon's back (a QEMU monitor user)
	e.waitFor(inst.ID, VMPaused, PowerPaused)
	if evs := e.events(inst.ID); !slices.ContainsFunc(evs, func(ev string) bool {
		return ev == `instance.state {"vm_state":"paused","task_state":"","power_state":"paused"}`
	}) {
		t.Errorf("events %v: want the health check's instance.state paused", evs)
	}
}
