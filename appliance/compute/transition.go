package compute

import "fmt"

// transition is a change of an instance's states, written with keyed fields: the three states and the
// fault it ends in. Omitted fields are their zero values, so Task omitted ends the task and Fault
// omitted clears the fault: transition{VM: VMActive, Power: PowerRunning} is "running, nothing in
// flight, no fault". apply is the one place an instance's states are set after create.
type transition struct {
	VM    VMState
	Task  TaskState
	Power PowerState
	Fault string
}

// apply sets the states on inst. A stopped or suspended instance has no QEMU: its pid goes with it,
// and so does its guest's readiness.
func (t transition) apply(inst *Instance) {
	inst.VMState, inst.TaskState, inst.PowerState, inst.Fault = t.VM, t.Task, t.Power, t.Fault
	if t.VM == VMStopped || t.VM == VMSuspended {
		inst.PID, inst.PIDStartTime = 0, 0
		inst.ReadyAt, inst.ReadyVia = nil, ""
	}
}

func (t transition) String() string {
	s := fmt.Sprintf("%s/%s", t.VM, t.Power)
	if t.Task != TaskNone {
		s += " (" + string(t.Task) + ")"
	}
	return s
}

// statesOf is the transition that would leave inst as it is.
func statesOf(inst *Instance) transition {
	return transition{VM: inst.VMState, Task: inst.TaskState, Power: inst.PowerState, Fault: inst.Fault}
}

// stateEventOf is the data of the instance.state event for inst's states.
func stateEventOf(inst *Instance) stateEvent {
	return stateEvent{VMState: inst.VMState, TaskState: inst.TaskState, PowerState: inst.PowerState, Fault: inst.Fault}
}
