package volume

import (
	"slices"
	"strings"
)

// begin records task as v's intent (the caller writes v in the same transaction): v must have no
// task and be in one of the statuses allowed. An available volume shows maintenance (or
// extending) while the task runs, so nothing attaches it meanwhile; an in-use one stays in-use.
func begin(v *Volume, task, what string, allowed ...string) error {
	if v.Task != "" {
		return faultf(ErrConflict, "cannot %s volume %s: it is busy (%s)", what, v.Name, v.Task)
	}
	if !slices.Contains(allowed, v.Status) {
		return stateConflict(v, what)
	}
	v.Task = task
	switch {
	case task == taskExtend:
		v.Status = StatusExtending
	case v.Status == StatusAvailable:
		v.Status = StatusMaintenance
	}
	return nil
}

// end clears v's task and gives it back its idle status.
func end(v *Volume) {
	v.Task = ""
	if v.Status == StatusMaintenance || v.Status == StatusExtending {
		v.Status = v.idleStatus()
	}
}

// taskOf splits a task into its name and its snapshot ID.
func taskOf(v *Volume) (name, snapshotID string) {
	name, snapshotID, _ = strings.Cut(v.Task, ":")
	return name, snapshotID
}

// stateConflict says why v's status forbids an action.
func stateConflict(v *Volume, what string) error {
	if v.Attachment != nil {
		return faultf(ErrConflict, "cannot %s volume %s: it is %s (attached to instance %s)", what, v.Name, v.Status, v.Attachment.InstanceID)
	}
	if v.Task != "" {
		return faultf(ErrConflict, "cannot %s volume %s: it is %s (%s)", what, v.Name, v.Status, v.Task)
	}
	return faultf(ErrConflict, "cannot %s volume %s: it is %s", what, v.Name, v.Status)
}
