package compute

import (
	"slices"
	"strings"
)

// vm_state values (Nova): what the instance is, as the user sees it.
const (
	VMBuilding  = "building"
	VMActive    = "active"
	VMStopped   = "stopped"
	VMPaused    = "paused"
	VMSuspended = "suspended"
	VMError     = "error"
	VMDeleted   = "deleted"
)

// task_state values: the operation in flight, or "" (none).
const (
	TaskNone        = ""
	TaskSpawning    = "spawning"
	TaskPoweringOn  = "powering-on"
	TaskPoweringOff = "powering-off"
	TaskRebooting   = "rebooting"
	TaskPausing     = "pausing"
	TaskUnpausing   = "unpausing"
	TaskSuspending  = "suspending"
	TaskResuming    = "resuming"
	TaskRebuilding  = "rebuilding"
	TaskResizing    = "resizing"
	TaskDeleting    = "deleting"
)

// power_state values: what the hypervisor last said.
const (
	PowerNoState   = "nostate"
	PowerRunning   = "running"
	PowerPaused    = "paused"
	PowerShutdown  = "shutdown"
	PowerCrashed   = "crashed"
	PowerSuspended = "suspended"
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
	from      []string // allowed vm_states
	task      string   // task_state set while the action runs
	anyTask   bool     // legal even while another task runs (it pre-empts it)
	needsHost bool     // claims host capacity (vcpus, RAM) when it starts
}

// rules is the one table of legal transitions. Everything else asks it.
var rules = map[Action]rule{
	ActStart:     {from: []string{VMStopped, VMError}, task: TaskPoweringOn, needsHost: true},
	ActStop:      {from: []string{VMActive, VMPaused, VMError}, task: TaskPoweringOff},
	ActHardStop:  {from: []string{VMActive, VMPaused, VMError, VMBuilding}, task: TaskPoweringOff, anyTask: true},
	ActReboot:    {from: []string{VMActive}, task: TaskRebooting},
	ActHardReset: {from: []string{VMActive, VMPaused}, task: TaskRebooting},
	ActPause:     {from: []string{VMActive}, task: TaskPausing},
	ActUnpause:   {from: []string{VMPaused}, task: TaskUnpausing},
	ActSuspend:   {from: []string{VMActive, VMPaused}, task: TaskSuspending},
	ActResume:    {from: []string{VMSuspended}, task: TaskResuming, needsHost: true},
	ActRebuild:   {from: []string{VMActive, VMStopped, VMError}, task: TaskRebuilding},
	ActResize:    {from: []string{VMStopped}, task: TaskResizing},
	ActDelete: {from: []string{VMBuilding, VMActive, VMStopped, VMPaused, VMSuspended, VMError},
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
			inst.VMState, strings.Join(r.from, ", "))
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
