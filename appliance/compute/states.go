package compute

import (
	"slices"
	"strings"
)

// VMState is the vm_state (Nova's): what the instance is, as the user sees it.
type VMState string

// The vm_state values.
const (
	VMBuilding  VMState = "building"
	VMActive    VMState = "active"
	VMStopped   VMState = "stopped"
	VMPaused    VMState = "paused"
	VMSuspended VMState = "suspended"
	VMError     VMState = "error"
	VMDeleted   VMState = "deleted"
)

// TaskState is the task_state: the operation in flight, or TaskNone.
type TaskState string

// The task_state values.
const (
	TaskNone        TaskState = ""
	TaskSpawning    TaskState = "spawning"
	TaskPoweringOn  TaskState = "powering-on"
	TaskPoweringOff TaskState = "powering-off"
	TaskRebooting   TaskState = "rebooting"
	TaskPausing     TaskState = "pausing"
	TaskUnpausing   TaskState = "unpausing"
	TaskSuspending  TaskState = "suspending"
	TaskResuming    TaskState = "resuming"
	TaskRebuilding  TaskState = "rebuilding"
	TaskResizing    TaskState = "resizing"
	TaskDeleting    TaskState = "deleting"
)

// PowerState is the power_state: what the hypervisor last said.
type PowerState string

// The power_state values.
const (
	PowerNoState   PowerState = "nostate"
	PowerRunning   PowerState = "running"
	PowerPaused    PowerState = "paused"
	PowerShutdown  PowerState = "shutdown"
	PowerCrashed   PowerState = "crashed"
	PowerSuspended PowerState = "suspended"
)

// Action is a user operation on an instance.
type Action string

// The actions of POST /api/v1/instances/{id}/{action}, plus create and delete.
const (
	ActStart     Action = "start"
	ActStop      Action = "stop"
	ActHardStop  Action = "hard-stop" // stop with force: SIGKILL after the UUID check, also while a task hangs
	ActReboot    Action = "reboot"
	ActHardReset Action = "hard-reboot"
	ActPause     Action = "pause"
	ActUnpause   Action = "unpause"
	ActSuspend   Action = "suspend"
	ActResume    Action = "resume"
	ActRebuild   Action = "rebuild"
	ActResize    Action = "resize"
	ActDelete    Action = "delete"
)

// rule says in which states an action is legal and which task it starts.
type rule struct {
	from      []VMState // allowed vm_states
	task      TaskState // task_state set while the action runs
	anyTask   bool      // legal even while another task runs (it pre-empts it)
	needsHost bool      // claims host capacity (vcpus, RAM) when it starts
}

// rules is the one table of legal transitions. Everything else asks it.
var rules = map[Action]rule{
	ActStart:     {from: []VMState{VMStopped, VMError}, task: TaskPoweringOn, needsHost: true},
	ActStop:      {from: []VMState{VMActive, VMPaused, VMError}, task: TaskPoweringOff},
	ActHardStop:  {from: []VMState{VMActive, VMPaused, VMError, VMBuilding}, task: TaskPoweringOff, anyTask: true},
	ActReboot:    {from: []VMState{VMActive}, task: TaskRebooting},
	ActHardReset: {from: []VMState{VMActive, VMPaused}, task: TaskRebooting},
	ActPause:     {from: []VMState{VMActive}, task: TaskPausing},
	ActUnpause:   {from: []VMState{VMPaused}, task: TaskUnpausing},
	ActSuspend:   {from: []VMState{VMActive, VMPaused}, task: TaskSuspending},
	ActResume:    {from: []VMState{VMSuspended}, task: TaskResuming, needsHost: true},
	ActRebuild:   {from: []VMState{VMActive, VMStopped, VMError}, task: TaskRebuilding},
	ActResize:    {from: []VMState{VMStopped}, task: TaskResizing},
	ActDelete: {from: []VMState{VMBuilding, VMActive, VMStopped, VMPaused, VMSuspended, VMError},
		task: TaskDeleting, anyTask: true},
}

// ParseAction maps an API verb to an action.
func ParseAction(s string) (Action, bool) {
	a := Action(s)
	_, ok := rules[a]
	return a, ok && a != ActDelete
}

// Actions lists the API verbs, sorted.
func Actions() []string {
	var out []string
	for a := range rules {
		if a != ActDelete {
			out = append(out, string(a))
		}
	}
	slices.Sort(out)
	return out
}

// check returns nil when action a is legal for inst, else a conflict naming the state.
func (r rule) check(a Action, inst *Instance) error {
	if inst.TaskState == TaskDeleting {
		return errConflict("cannot %s instance %s: it is being deleted", a, inst.Name)
	}
	if !slices.Contains(r.from, inst.VMState) {
		return errConflict("cannot %s instance %s while vm_state is %s (allowed: %s)", a, inst.Name,
			inst.VMState, joinStates(r.from))
	}
	if inst.TaskState != TaskNone && !r.anyTask {
		return errConflict("cannot %s instance %s while task_state is %s", a, inst.Name, inst.TaskState)
	}
	return nil
}

// holdsHost reports whether an instance in these states has, or is about to have, a QEMU process and so
// counts against host capacity.
func holdsHost(inst *Instance) bool {
	switch inst.VMState {
	case VMBuilding, VMActive, VMPaused:
		return true
	case VMError:
		return inst.PID != 0
	}
	return inst.TaskState == TaskPoweringOn || inst.TaskState == TaskResuming
}

func (a Action) String() string { return string(a) }

func joinStates(vms []VMState) string {
	out := make([]string, len(vms))
	for i, vm := range vms {
		out[i] = string(vm)
	}
	return strings.Join(out, ", ")
}
