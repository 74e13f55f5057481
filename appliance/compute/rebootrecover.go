package compute

import (
	"context"

	"cloudlet/appliance/qemu/qmp"
)

// finishReboot completes, at reattach, a soft reboot the previous daemon died in. QEMU's shutdown action
// is set back to poweroff (the reboot's deferred restore never ran, and a later guest power-off would
// pause QEMU forever), and a guest that had already shut down for the reboot (QEMU in "shutdown") is
// reset and resumed, as the reboot would have done. It returns QEMU's run state after.
func (sv *supervisor) finishReboot(ctx context.Context, st qmp.Status) qmp.Status {
	err := sv.qmpCall(ctx, func(c context.Context) error {
		return sv.mon.Execute(c, "set-action", map[string]string{"shutdown": "poweroff"}, nil)
	})
	if err != nil {
		sv.s.log.Warn("restore QEMU's shutdown action after an interrupted reboot", "instance", sv.id, "err", err)
	}
	if st.Status != "shutdown" {
		return st
	}
	err = sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.SystemReset(c) })
	if err == nil {
		err = sv.qmpCall(ctx, func(c context.Context) error { return sv.mon.Cont(c) })
	}
	if err != nil {
		sv.s.log.Warn("finish an interrupted reboot", "instance", sv.id, "err", err)
		return st
	}
	return qmp.Status{Status: "running", Running: true}
}
