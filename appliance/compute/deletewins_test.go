package compute

import (
	"context"
	"encoding/json"
	"testing"

	"cloudlet/appliance/qemu"
)

// A delete pre-empts a start that is still waiting for QEMU: the cancelled start fails, and its failure
// must not clear task deleting (a kill then would bring the instance back stopped, its ports gone).
// Once deleting is recorded, no state event shows another task until the record is deleted.
func TestDeleteDuringAStartIsNeverUndoneByTheStartsFailure(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("a")
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	e.hv.onStart = func(p *fakeProc, _ qemu.Spec) { p.srv.Hang(true) } // QEMU never answers: the start waits
	e.act(inst.ID, ActStart)
	waitStarts(t, e.hv, 2)

	if _, err := e.svc.Delete(context.Background(), testProject, inst.ID); err != nil {
		t.Fatal(err)
	}
	waitGoneUnit(t, e, inst.ID)
	evs, err := e.db.EventsSince(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	deleting := false
	for _, ev := range evs {
		if ev.ID != inst.ID || ev.Type != "instance.state" {
			continue
		}
		var st stateEvent
		if err := json.Unmarshal(ev.Data, &st); err != nil {
			t.Fatal(err)
		}
		switch {
		case st.TaskState == TaskDeleting:
			deleting = true
		case deleting:
			t.Errorf("after deleting was recorded, a state event with task %q: %+v", st.TaskState, st)
		}
	}
	if !deleting {
		t.Error("no state event with task deleting")
	}
}
