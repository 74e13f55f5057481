package compute

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// guestReleasesLate is guestReleasesDisks with a guest that does not release a disk on the first
// `refuse` device_del requests: QEMU answers each of those with first (nil: taken, and the guest misses
// it; else QEMU's refusal), later ones are followed by DEVICE_DELETED. It counts the requests in *asked.
func guestReleasesLate(refuse int, first *qmptest.Error, asked *int, mu *sync.Mutex) func(*fakeProc, qemu.Spec) {
	return func(p *fakeProc, sp qemu.Spec) {
		guestReleasesDisks(p, sp)
		p.srv.Handle("device_del", func(args json.RawMessage) (any, *qmptest.Error) {
			mu.Lock()
			*asked++
			n := *asked
			mu.Unlock()
			if n <= refuse && first != nil {
				return nil, first
			}
			if n <= refuse {
				return map[string]any{}, nil
			}
			var a struct{ ID string }
			json.Unmarshal(args, &a)
			go p.srv.Emit(qmp.EventDeviceDeleted, map[string]any{"device": a.ID, "path": "/machine/peripheral/" + a.ID})
			return map[string]any{}, nil
		})
	}
}

// A guest may miss a device_del (ci30: a detach two seconds after the attach on a loaded host went
// unanswered), and QEMU refuses one while an unplug of the device is pending or the guest blinks a native
// slot's power indicator: the detach asks again until the guest releases the disk, and the volume is
// detached.
func TestDetachAsksAgainUntilTheGuestReleasesTheDisk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first *qmptest.Error
	}{
		{"request dropped by the guest", nil},
		{"guest busy", &qmptest.Error{Class: "GenericError", Desc: "Hot-unplug failed: guest is busy (power indicator blinking)"}},
		{"unplug pending", &qmptest.Error{Class: "GenericError", Desc: "Device disk-hp0 is already in the process of unplug"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			asked := 0
			e := newEnv(t, func(o *Options) { o.UnplugRetry = 100 * time.Millisecond })
			e.hv.onStart = guestReleasesLate(2, tc.first, &asked, &mu)
			inst := e.running("web")
			data := e.vols.add("data")
			if _, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", false); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.DetachVolume(context.Background(), testProject, "data"); err != nil {
				t.Fatalf("detach: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if asked < 3 {
				t.Errorf("device_del sent %d times, want at least 3 (two not taken, then released)", asked)
			}
			if v, _ := e.vols.Get(context.Background(), "", data.ID); v.InstanceID != "" {
				t.Errorf("detached volume still belongs to %s", v.InstanceID)
			}
			if got, err := e.svc.Get(context.Background(), "", inst.ID); err != nil || got.VMState != VMActive {
				t.Errorf("instance after the detach: %s, %v; want active", got.VMState, err)
			}
		})
	}
}

// A guest that never releases the disk: the detach asks again every UnplugRetry, then fails within
// UnplugTimeout as a conflict naming what to do, and the volume stays attached.
func TestDetachFromAGuestThatKeepsTheDiskIsAConflict(t *testing.T) {
	var mu sync.Mutex
	asked := 0
	e := newEnv(t, func(o *Options) { o.UnplugRetry, o.UnplugTimeout = 100*time.Millisecond, 450*time.Millisecond })
	e.hv.onStart = guestReleasesLate(1<<30, nil, &asked, &mu)
	inst := e.running("web")
	data := e.vols.add("data")
	if _, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", false); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.DetachVolume(context.Background(), testProject, "data")
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "did not release") ||
		!strings.Contains(err.Error(), "stop the instance") {
		t.Fatalf("detach from a guest that keeps the disk: %v, want a conflict saying so", err)
	}
	mu.Lock()
	if asked < 2 || !strings.Contains(err.Error(), fmt.Sprintf("asked %d times", asked)) {
		t.Errorf("device_del sent %d times in 450 ms, want it sent again every 100 ms and counted in %q", asked, err)
	}
	mu.Unlock()
	if v, _ := e.vols.Get(context.Background(), "", data.ID); v.InstanceID != inst.ID {
		t.Errorf("volume of %q after a failed detach, want still %s", v.InstanceID, inst.ID)
	}
}
