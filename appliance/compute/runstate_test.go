package compute

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// A daemon killed during a soft reboot leaves QEMU set to pause on a guest shutdown; reattach sets
// cloudlet's actions again on every QEMU it adopts, so a later guest power-off ends QEMU again.
func TestReattachSetsCloudletsActionsOnEveryQEMUItAdopts(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	e.svc.Close()
	p.setAction([]byte(`{"shutdown":"pause"}`)) // what the killed soft reboot left

	e.start()
	waitUntil(t, "cloudlet's actions set", func() bool { return maps.Equal(p.actionsSet(), qemuActions) })
	e.waitFor(inst.ID, VMActive, PowerRunning)
}

// Reattach shows each QEMU run state as a state the user can get out of. Where QEMU refuses cont
// until a reset (shutdown, internal-error) or the guest is dead (guest-panicked), QEMU is ended and
// the instance stopped with the reason, as Nova stops an instance its hypervisor reports shut down
// or crashed; a soft reboot cut short after the guest shut down is finished instead.
func TestReattachMapsQEMURunStatesToStatesTheUserCanLeave(t *testing.T) {
	for _, tt := range []struct {
		status    string
		task      TaskState
		vm        VMState
		power     PowerState
		fault     string // a part of the fault; "" = none
		qemuAfter string // "" = ended
		sent      []string
	}{
		{"shutdown", TaskRebooting, VMActive, PowerRunning, "", "running", []string{"system_reset", "cont"}},
		{"shutdown", TaskNone, VMStopped, PowerShutdown, "", "", []string{"quit"}},
		{"internal-error", TaskNone, VMStopped, PowerCrashed, "run state internal-error", "", []string{"quit"}},
		{"guest-panicked", TaskNone, VMStopped, PowerCrashed, "panicked", "", []string{"quit"}},
		{"io-error", TaskNone, VMPaused, PowerPaused, "disk I/O error", "io-error", nil},
		{"paused", TaskNone, VMPaused, PowerPaused, "", "paused", nil},
		{"suspended", TaskNone, VMActive, PowerRunning, "", "suspended", nil},
	} {
		t.Run(tt.status+"/"+string(tt.task), func(t *testing.T) {
			e := newEnv(t, nil)
			inst := e.running("web")
			p := e.hv.proc(inst.ID)
			e.svc.Close()
			p.srv.SetStatus(tt.status)
			if _, err := e.svc.update(inst.ID, func(i *Instance) error { i.TaskState = tt.task; return nil }); err != nil {
				t.Fatal(err)
			}
			n := len(p.srv.Commands())

			e.start()
			got := e.waitFor(inst.ID, tt.vm, tt.power)
			if (tt.fault == "") != (got.Fault == "") || !strings.Contains(got.Fault, tt.fault) {
				t.Errorf("fault %q, want one with %q", got.Fault, tt.fault)
			}
			if ended := p.srv.Status() == "shutdown" && !isLive(p); (tt.qemuAfter == "") != ended {
				t.Errorf("QEMU status %s (ended %v), want %q", p.srv.Status(), ended, tt.qemuAfter)
			} else if tt.qemuAfter != "" && p.srv.Status() != tt.qemuAfter {
				t.Errorf("QEMU status %s, want %s", p.srv.Status(), tt.qemuAfter)
			}
			for _, c := range tt.sent {
				if !slices.Contains(after(p, n), c) {
					t.Errorf("commands %v: want %s", after(p, n), c)
				}
			}
			if e.hv.startCount() != 1 {
				t.Errorf("%d QEMU starts: reattach must not start one", e.hv.startCount())
			}
		})
	}
}

// An instance QEMU paused on a disk I/O error is resumed by unpause (cont retries the request), and the
// fault that said why goes.
func TestUnpauseResumesAGuestPausedOnAnIOError(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	p.srv.SetStatus("io-error")
	waitUntil(t, "the health check to see the I/O error", func() bool {
		got, _ := e.svc.Get(context.Background(), testProject, inst.ID)
		return got.VMState == VMPaused && got.Fault != ""
	})
	e.act(inst.ID, ActUnpause)
	if got := e.waitFor(inst.ID, VMActive, PowerRunning); got.Fault != "" {
		t.Errorf("fault %q left after the unpause", got.Fault)
	}
}

func isLive(p *fakeProc) bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// A daemon shutting down while a health check waits on QEMU leaves the instance as it was: the
// cancelled query says nothing about QEMU (it used to mark the instance error, "not answering").
func TestADaemonShutdownDuringAHealthCheckLeavesTheInstanceAsItWas(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.QMPTimeout = 30 * time.Second })
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	n := len(p.srv.Commands())
	p.srv.Hang(true)
	t.Cleanup(func() { p.srv.Hang(false) })
	waitUntil(t, "a health check waiting on QEMU", func() bool { return slices.Contains(after(p, n), "query-status") })

	e.svc.Close()
	got, err := e.svc.Get(context.Background(), testProject, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.VMState != VMActive || got.PowerState != PowerRunning || got.Fault != "" {
		t.Errorf("after a shutdown mid health check: %s/%s fault %q, want active/running and no fault",
			got.VMState, got.PowerState, got.Fault)
	}
}
