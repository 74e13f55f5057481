package compute

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// guestReleasesDisks makes a fake QEMU answer device_del with DEVICE_DELETED, as a cooperating guest
// does, and query-block with the devices plugged so far.
func guestReleasesDisks(p *fakeProc, _ qemu.Spec) {
	ok := func(json.RawMessage) (any, *qmptest.Error) { return map[string]any{}, nil }
	for _, c := range []string{"blockdev-add", "blockdev-del", "device_add", "block_resize", "block_set_io_throttle", "blockdev-snapshot"} {
		p.srv.Handle(c, ok)
	}
	p.srv.Handle("device_del", func(args json.RawMessage) (any, *qmptest.Error) {
		var a struct{ ID string }
		json.Unmarshal(args, &a)
		go p.srv.Emit(qmp.EventDeviceDeleted, map[string]any{"device": a.ID, "path": "/machine/peripheral/" + a.ID})
		return map[string]any{}, nil
	})
	p.srv.Handle("query-block", func(json.RawMessage) (any, *qmptest.Error) {
		return []map[string]any{{"qdev": "disk-hp0", "inserted": map[string]any{"node-name": "disk-hp0"}}}, nil
	})
}

func TestHotAttachAndDetachOnARunningInstance(t *testing.T) {
	e := newEnv(t, nil)
	e.hv.onStart = guestReleasesDisks
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	data := e.vols.add("data")
	n := len(p.srv.Commands())
	got, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Port != qemu.HotplugPortID(0) {
		t.Errorf("port %q, want the first spare root port", got.Port)
	}
	waitCommands(t, p, n, "blockdev-add", "blockdev-add", "device_add")
	if _, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", false); fault.KindOf(err) != fault.Conflict {
		t.Errorf("attaching an attached volume: %v, want a conflict", err)
	}
	n = len(p.srv.Commands())
	if _, err := e.svc.DetachVolume(context.Background(), testProject, "data"); err != nil {
		t.Fatal(err)
	}
	waitCommands(t, p, n, "device_del", "blockdev-del", "blockdev-del")
	if v, _ := e.vols.Get(context.Background(), "", data.ID); v.InstanceID != "" {
		t.Errorf("detached volume still belongs to %s", v.InstanceID)
	}
}

func TestColdAttachIsPluggedAtTheNextBoot(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	data := e.vols.add("data")
	if _, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", true); err != nil {
		t.Fatal(err)
	}
	e.act(inst.ID, ActStart)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	e.hv.mu.Lock()
	spec := e.hv.starts[len(e.hv.starts)-1]
	e.hv.mu.Unlock()
	if len(spec.Disks) != 2 || spec.Disks[1].Path != data.Path || spec.Disks[1].Bus != qemu.HotplugPortID(0) {
		t.Errorf("disks at boot %+v: want the data volume on a spare root port", spec.Disks)
	}
	if _, err := e.svc.Delete(context.Background(), testProject, inst.ID); err != nil {
		t.Fatal(err)
	}
	waitGoneUnit(t, e, inst.ID)
	if n := e.vols.count(); n != 0 {
		t.Errorf("%d volumes left; the data volume had delete_on_termination", n)
	}
}

func TestDetachOfTheBootVolumeIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("web")
	_, err := e.svc.DetachVolume(context.Background(), testProject, inst.BootVolumeID)
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "boot volume") {
		t.Errorf("detach boot volume: %v", err)
	}
}

func TestLiveVolumeOperationsGoThroughQMP(t *testing.T) {
	e := newEnv(t, nil)
	e.hv.onStart = guestReleasesDisks
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	data := e.vols.add("data")
	if _, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.svc.ResizeVolume(ctx, inst.ID, data.ID, 128<<20); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ThrottleVolume(ctx, inst.ID, data.ID, DiskQoS{ReadIOPS: 100}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SnapshotVolume(ctx, inst.ID, data.ID, data.Path); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"block_resize", "block_set_io_throttle", "blockdev-snapshot"} {
		if !slices.Contains(p.srv.Commands(), want) {
			t.Errorf("no %s sent; commands %v", want, p.srv.Commands())
		}
	}
	if err := e.svc.ResizeVolume(ctx, inst.ID, "vol-nope", 1); fault.KindOf(err) != fault.NotFound {
		t.Errorf("resize of a volume not attached: %v", err)
	}
}

// StreamVolume sends block-stream on the disk's top node and returns once QEMU reports the job
// completed; a job that ends with an error is an error.
func TestStreamVolumeWaitsForTheJob(t *testing.T) {
	e := newEnv(t, nil)
	var failNext bool
	var mu sync.Mutex
	e.hv.onStart = func(p *fakeProc, sp qemu.Spec) {
		guestReleasesDisks(p, sp)
		p.srv.Handle("block-stream", func(args json.RawMessage) (any, *qmptest.Error) {
			var a struct {
				JobID  string `json:"job-id"`
				Device string `json:"device"`
			}
			json.Unmarshal(args, &a)
			data := map[string]any{"device": a.JobID, "type": "stream", "len": 1 << 20, "offset": 1 << 20, "speed": 0}
			mu.Lock()
			if failNext {
				data["error"] = "Input/output error"
			}
			mu.Unlock()
			go func() {
				p.srv.Emit(qmp.EventBlockJobReady, map[string]any{"device": "some-other-job"})
				p.srv.Emit(qmp.EventBlockJobCompleted, data)
			}()
			return map[string]any{}, nil
		})
	}
	inst := e.running("web")
	p := e.hv.proc(inst.ID)
	data := e.vols.add("data")
	if _, err := e.svc.AttachVolume(context.Background(), testProject, "web", "data", false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := len(p.srv.Commands())
	if err := e.svc.StreamVolume(ctx, inst.ID, data.ID); err != nil {
		t.Fatal(err)
	}
	// The health check's query-status runs between commands whenever its ticker fires: not part of the stream.
	got := slices.DeleteFunc(slices.Clone(p.srv.Commands()[n:]), func(c string) bool { return c == "query-status" })
	if !slices.Equal(got, []string{"query-block", "block-stream"}) {
		t.Errorf("commands %v, want query-block then block-stream", got)
	}
	mu.Lock()
	failNext = true
	mu.Unlock()
	if err := e.svc.StreamVolume(ctx, inst.ID, data.ID); err == nil || !strings.Contains(err.Error(), "Input/output error") {
		t.Errorf("stream whose job failed: %v", err)
	}
	if err := e.svc.StreamVolume(ctx, inst.ID, "vol-nope"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("stream of a volume not attached: %v", err)
	}
}

func waitGoneUnit(t *testing.T, e *env, id string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if _, err := e.svc.Get(context.Background(), testProject, id); fault.KindOf(err) == fault.NotFound {
			return
		}
		sleepMs(10)
	}
	t.Fatalf("instance %s not deleted", id)
}
