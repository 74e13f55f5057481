package ui

import (
	"bytes"
	"strings"
	"testing"

	"cloudlet/appliance/compute"
)

// TestAMovingInstancesRowAndStatusAlsoPoll: a row or status whose instance has a task (or is
// building) refetches every 2 s besides on its events; a settled one only on its events.
func TestAMovingInstancesRowAndStatusAlsoPoll(t *testing.T) {
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePages(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		inst compute.Instance
		poll bool
	}{
		{instance("a", compute.VMActive, "pausing"), true},
		{instance("b", compute.VMBuilding, ""), true},
		{instance("c", compute.VMActive, ""), false},
	} {
		for _, block := range []string{"instance-row", "instance-status"} {
			var buf bytes.Buffer
			row := instanceRow{Instance: tc.inst, Sess: &session{}}
			if err := p.byName["instances"].ExecuteTemplate(&buf, block, row); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(buf.String(), "every 2s"); got != tc.poll {
				t.Errorf("%s of a %s instance with task %q polls = %v, want %v", block, tc.inst.VMState, tc.inst.TaskState, got, tc.poll)
			}
		}
	}
}

func instance(id string, vm compute.VMState, task compute.TaskState) compute.Instance {
	i := compute.Instance{VMState: vm, TaskState: task}
	i.ID = id
	return i
}
