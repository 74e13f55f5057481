package compute

import (
	"context"
	"slices"
	"testing"

	"cloudlet/appliance/fault"
)

// The first source to say a boot is ready wins: guest_ready is recorded once, with ready_at and
// ready_via; a later source changes nothing; a stop takes the readiness away and the next boot is
// ready afresh.
func TestMarkGuestReadyRecordsTheFirstSourceOfABootOnce(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	inst := e.running("web")
	if inst.ReadyAt != nil {
		t.Fatalf("a boot nobody called ready has ready_at %v", inst.ReadyAt)
	}
	for _, via := range []string{ReadyViaPhoneHome, ReadyViaConsole, ReadyViaPhoneHome} {
		if err := e.svc.MarkGuestReady(ctx, inst.ID, via); err != nil {
			t.Fatalf("MarkGuestReady(%s): %v", via, err)
		}
	}
	got := e.show(inst.ID)
	if n := countStages(got, StageGuestReady); n != 1 || got.ReadyAt == nil || got.ReadyVia != ReadyViaPhoneHome {
		t.Fatalf("after three calls: %d guest_ready stages, ready_at %v, via %q; want 1, set, phone-home", n, got.ReadyAt, got.ReadyVia)
	}

	e.act(inst.ID, ActStop)
	stopped := e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if stopped.ReadyAt != nil || stopped.ReadyVia != "" {
		t.Errorf("a stopped instance is still ready: %v via %q", stopped.ReadyAt, stopped.ReadyVia)
	}
	if err := e.svc.MarkGuestReady(ctx, inst.ID, ReadyViaPhoneHome); err != nil {
		t.Fatal(err)
	}
	if got := e.show(inst.ID); got.ReadyAt != nil {
		t.Errorf("a stopped instance was marked ready at %v", got.ReadyAt)
	}

	e.act(inst.ID, ActStart)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if err := e.svc.MarkGuestReady(ctx, inst.ID, ReadyViaConsole); err != nil {
		t.Fatal(err)
	}
	got = e.show(inst.ID)
	if n := countStages(got, StageGuestReady); n != 1 || got.ReadyVia != ReadyViaConsole {
		t.Errorf("second boot: %d guest_ready stages via %q, want 1 via console", n, got.ReadyVia)
	}
}

// A mark for an instance that does not exist is not found, and marks nothing else.
func TestMarkGuestReadyOfAnUnknownInstanceIsNotFound(t *testing.T) {
	e := newEnv(t, nil)
	other := e.running("other")
	err := e.svc.MarkGuestReady(context.Background(), "no-such-instance", ReadyViaPhoneHome)
	if fault.KindOf(err) != fault.NotFound {
		t.Errorf("MarkGuestReady(no-such-instance) = %v, want not found", err)
	}
	if got := e.show(other.ID); got.ReadyAt != nil {
		t.Errorf("another instance was marked ready")
	}
}

func countStages(i *Instance, name string) int {
	return len(slices.DeleteFunc(slices.Clone(i.Timeline), func(s Stage) bool { return s.Name != name }))
}

// show reads the instance from the service, failing the test on error.
func (e *env) show(id string) *Instance {
	e.t.Helper()
	inst, err := e.svc.Get(context.Background(), testProject, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inst
}

// A boot's readiness is one instance.guest_ready event naming its source, written with the record:
// event-stream readers (the CLI's --wait ready) learn of it without polling. Later sources write none.
func TestGuestReadinessIsOneEventOfTheBoot(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	for _, via := range []string{ReadyViaAgent, ReadyViaConsole} {
		if err := e.svc.MarkGuestReady(context.Background(), inst.ID, via); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := e.db.EventsSince(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ready []string
	for _, ev := range evs {
		if ev.Type == EventGuestReady {
			if ev.ID != inst.ID || ev.ProjectID != inst.ProjectID {
				t.Errorf("guest_ready event for %s in %s, want %s in %s", ev.ID, ev.ProjectID, inst.ID, inst.ProjectID)
			}
			ready = append(ready, string(ev.Data))
		}
	}
	if !slices.Equal(ready, []string{`{"via":"agent"}`}) {
		t.Errorf("guest_ready events %v, want one from the agent", ready)
	}
}
