package e2e

import (
	"strings"
	"testing"

	"cloudlet/appliance/compute"
	"cloudlet/images/testguest"
)

// TestGuestSaysReadyOnItsVirtioSerialPort: a test guest booted with cloudlet.ready=port says READY on its
// org.cloudlet.ready port before it phones home or prints its console marker, and waits for the daemon's
// OK, so `instance create --wait ready` returns through the port and ready_via is virtio-serial. After the
// daemon is killed (-9) and started again, the reattached daemon reads the port again: a second READY is
// answered, and the boot stays ready once.
func TestGuestSaysReadyOnItsVirtioSerialPort(t *testing.T) {
	c := newCloud(t, "")
	g := GuestPaths(t)
	c.ImportImage(map[string]any{"name": "tg-port", "path": g.Disk, "disk_format": "qcow2",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": "console=ttyS0 panic=-1 no_timer_check cloudlet.ready=port"})

	out, errOut, code := cli(t, "instance", "create", "porty", "--image", "tg-port", "--wait", "ready", "--socket", c.D.Socket)
	if code != 0 || !strings.Contains(out, "timeline.guest_ready") || !strings.Contains(out, compute.ReadyViaSerial) {
		t.Fatalf("instance create --wait ready: exit %d\n%s%s\nwant the timeline up to guest_ready, via %s", code, out, errOut, compute.ReadyViaSerial)
	}
	inst := c.Show("porty")
	if inst.ReadyAt == nil || inst.ReadyVia != compute.ReadyViaSerial {
		t.Errorf("ready at %v via %q, want via %s", inst.ReadyAt, inst.ReadyVia, compute.ReadyViaSerial)
	}
	log := c.WaitConsole(inst.ID, ready, 1, bootWait)
	if !strings.Contains(log, testguest.MarkerPort+" reply=OK") {
		t.Errorf("the guest was not answered OK on its port:\n%s", Tail(log, 2000))
	}

	c.D.Kill()
	c.D.Start(t)
	c.D.WaitReady(t)
	sh := c.shell(inst.ID, "porty") // the serial console is the daemon's: a shell opened before the kill ended with it
	if got := mustRun(t, sh, "/init ready-port"); got != "OK" {
		t.Errorf("READY after a daemon restart answered %q, want OK", got)
	}
	if again := c.Show("porty"); again.ReadyVia != compute.ReadyViaSerial || countReady(again) != 1 {
		t.Errorf("after a second READY: via %q with %d guest_ready stages, want %s and 1", again.ReadyVia, countReady(again), compute.ReadyViaSerial)
	}
}

func countReady(inst compute.Instance) int {
	n := 0
	for _, st := range inst.Timeline {
		if st.Name == compute.StageGuestReady {
			n++
		}
	}
	return n
}
