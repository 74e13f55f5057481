package compute

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"cloudlet/internal/testkit"
)

// errDiskFull is what the catalog says when its disk fills during a write.
var errDiskFull = fmt.Errorf("write catalog: %w", syscall.ENOSPC)

// The write that records a start's success is its commit point: when the catalog refuses it (its disk
// is full), the start is undone like any failed step, QEMU killed, nothing left behind, and the instance
// is in error naming the refused write.
func TestAStartWhoseRunningStateTheCatalogRefusesIsUndoneAndLeftInErrorWithTheReason(t *testing.T) {
	nets := newFakeNetworks()
	nets.addNetwork(testProject, "lan")
	e := newEnv(t, func(o *Options) {
		o.Networks = nets
		o.writeFault = func(i *Instance) error {
			if i.VMState == VMActive {
				return errDiskFull
			}
			return nil
		}
	})
	inst, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: "web",
		Flavor: "m1.tiny", Image: "img", Networks: []string{"lan"}})
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitFor(inst.ID, VMError, PowerNoState)
	if !strings.Contains(got.Fault, "record running") || !strings.Contains(got.Fault, "no space left on device") {
		t.Errorf("fault %q: want the refused write and the catalog's reason", got.Fault)
	}
	if p := e.hv.proc(inst.ID); p == nil || !p.killed {
		t.Errorf("the QEMU of the undone start must be killed")
	}
	assertNothingLeft(t, e, nets, got)
}

// A state change the catalog refuses is not dropped: it is logged, kept, and written as soon as the
// catalog takes writes again, so the catalog and QEMU agree again without anyone asking.
func TestAStateChangeTheCatalogRefusesIsLoggedKeptAndWrittenOnceTheCatalogTakesWritesAgain(t *testing.T) {
	var full atomic.Bool
	logs := &testkit.SyncBuffer{}
	e := newEnv(t, func(o *Options) {
		o.Log = slog.New(slog.NewTextHandler(logs, nil))
		o.writeFault = func(*Instance) error {
			if full.Load() {
				return errDiskFull
			}
			return nil
		}
	})
	inst := e.running("web")
	full.Store(true)
	e.act(inst.ID, ActPause) // Act's own write (the task) is not the supervisor's: it lands
	waitUntil(t, "QEMU paused and the refused write logged", func() bool {
		return e.hv.proc(inst.ID).srv.Status() == "paused" && strings.Contains(logs.String(), "instance record not written")
	})
	if got, _ := e.svc.Get(context.Background(), testProject, inst.ID); got.TaskState != TaskPausing {
		t.Errorf("while the catalog is full: task %q, want %q still", got.TaskState, TaskPausing)
	}
	if !strings.Contains(logs.String(), "no space left on device") {
		t.Errorf("log %q: want the catalog's reason", logs.String())
	}

	full.Store(false)
	e.waitFor(inst.ID, VMPaused, PowerPaused)
}

// waitUntil polls cond until it holds, failing the test after 10s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
