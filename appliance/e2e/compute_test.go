package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

const (
	ready    = "CLOUDLET-GUEST-READY"
	bootLine = "CLOUDLET-GUEST-BOOT"
	bootWait = 90 * time.Second // TCG on a shared 2-core machine, with several guests at once
)

var uptimeLine = regexp.MustCompile(`CLOUDLET-GUEST-UPTIME (\d+)\.\d+`)

// lastUptime is the last uptime the guest printed, in seconds.
func lastUptime(t *testing.T, console string) int {
	t.Helper()
	m := uptimeLine.FindAllStringSubmatch(console, -1)
	if len(m) == 0 {
		t.Fatalf("no uptime line on the console:\n%s", Tail(console, 2000))
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// TestInstanceLifecycle walks one instance through every action against the real daemon and QEMU.
func TestInstanceLifecycle(t *testing.T) {
	c := newCloud(t, "")
	inst := c.Create("web", kernelImage, nil)
	if inst.VMState != compute.VMBuilding || inst.TaskState != compute.TaskSpawning {
		t.Errorf("create answered %s/%s, want building/spawning", inst.VMState, inst.TaskState)
	}
	id := inst.ID
	c.WaitConsole(id, ready, 1, bootWait)
	running := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
	if !strings.Contains(cmdline(running.PID), "-uuid "+id) {
		t.Fatalf("pid %d is not this instance's QEMU: %s", running.PID, cmdline(running.PID))
	}
	checkTimeline(t, c, id)

	t.Run("stop and start", func(t *testing.T) {
		c.Act(id, "stop")
		c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 60*time.Second)
		if processAlive(running.PID) {
			t.Fatalf("QEMU pid %d still alive after stop", running.PID)
		}
		c.Act(id, "start")
		c.WaitConsole(id, ready, 2, bootWait)
		running = c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
	})
	t.Run("soft reboot", func(t *testing.T) {
		c.Act(id, "reboot")
		c.WaitConsole(id, ready, 3, bootWait)
		after := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
		if after.PID != running.PID {
			t.Errorf("reboot changed the QEMU pid %d → %d; it must reset the guest, not restart QEMU", running.PID, after.PID)
		}
	})
	t.Run("hard reboot", func(t *testing.T) {
		c.Act(id, "hard-reboot")
		c.WaitConsole(id, ready, 4, bootWait)
	})
	t.Run("pause and unpause", func(t *testing.T) {
		c.WaitConsole(id, "CLOUDLET-GUEST-UPTIME", strings.Count(c.Console(id), "CLOUDLET-GUEST-UPTIME")+1, 30*time.Second)
		c.Act(id, "pause")
		c.WaitState(id, compute.VMPaused, compute.PowerPaused, 10*time.Second)
		frozen := strings.Count(c.Console(id), "CLOUDLET-GUEST-UPTIME")
		time.Sleep(3 * time.Second)
		if n := strings.Count(c.Console(id), "CLOUDLET-GUEST-UPTIME"); n > frozen+1 {
			t.Errorf("a paused guest printed %d more uptime lines", n-frozen)
		}
		c.Act(id, "unpause")
		c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
		c.WaitConsole(id, "CLOUDLET-GUEST-UPTIME", frozen+2, 30*time.Second)
	})
	t.Run("suspend and resume keep the guest's uptime", func(t *testing.T) {
		before := lastUptime(t, c.Console(id))
		boots := strings.Count(c.Console(id), bootLine)
		pid := c.Show(id).PID
		c.Act(id, "suspend")
		c.WaitState(id, compute.VMSuspended, compute.PowerSuspended, 60*time.Second)
		if processAlive(pid) {
			t.Fatalf("QEMU pid %d still alive while suspended", pid)
		}
		time.Sleep(3 * time.Second)
		c.Act(id, "resume")
		c.WaitState(id, compute.VMActive, compute.PowerRunning, 60*time.Second)
		lines := strings.Count(c.Console(id), "CLOUDLET-GUEST-UPTIME")
		log := c.WaitConsole(id, "CLOUDLET-GUEST-UPTIME", lines+2, 30*time.Second)
		if after := lastUptime(t, log); after < before {
			t.Errorf("uptime %d s after resume, %d s before suspend: the guest rebooted", after, before)
		}
		if n := strings.Count(log, bootLine); n != boots {
			t.Errorf("%d boot markers after resume, %d before: the guest rebooted", n, boots)
		}
	})
	t.Run("delete leaves nothing", func(t *testing.T) {
		pid := c.Show(id).PID
		c.DeleteAndWait(id)
		assertNoTrace(t, c, id, pid)
	})
	t.Run("every transition is on the event stream", func(t *testing.T) {
		var events []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
			Data struct {
				VM   string `json:"vm_state"`
				Task string `json:"task_state"`
			} `json:"data"`
		}
		if err := c.Do("GET", "/api/v1/events?since=0&limit=5000", nil, &events); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range events {
			if e.ID == id {
				seen[e.Type+":"+e.Data.VM+"/"+e.Data.Task] = true
			}
		}
		for _, want := range []string{"instance.created:building/spawning", "instance.state:active/",
			"instance.state:active/powering-off", "instance.state:stopped/", "instance.state:stopped/powering-on",
			"instance.state:active/rebooting", "instance.state:active/pausing", "instance.state:paused/",
			"instance.state:paused/unpausing", "instance.state:active/suspending", "instance.state:suspended/",
			"instance.state:suspended/resuming", "instance.state:active/deleting", "instance.deleted:deleted/"} {
			if !seen[want] {
				t.Errorf("no event %s; saw %v", want, seen)
			}
		}
	})
}

// checkTimeline: show lists the boot stages in order, up to the guest's ready marker.
func checkTimeline(t *testing.T, c *Cloud, id string) {
	t.Helper()
	want := []string{compute.StageAccepted, compute.StageExec, compute.StageQMPReady, compute.StageCont,
		compute.StageFirstByte, compute.StageGuestReady}
	if len(c.Show(id).Addresses) > 0 { // a NIC (on network default): the guest is ready after its lease
		want = slices.Insert(want, len(want)-1, compute.StageDHCPLease)
	}
	deadline := time.Now().Add(10 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		got = got[:0]
		var last time.Time
		for _, s := range c.Show(id).Timeline {
			if s.At.Before(last) {
				t.Fatalf("timeline goes back in time at %s", s.Name)
			}
			last = s.At
			got = append(got, s.Name)
		}
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("timeline %v, want %v", got, want)
}

// assertNoTrace: no QEMU, no run dir (sockets, pidfile), no state dir (disk, console log) remain.
func assertNoTrace(t *testing.T, c *Cloud, id string, pid int) {
	t.Helper()
	if processAlive(pid) {
		t.Errorf("QEMU pid %d still alive", pid)
	}
	for _, dir := range []string{filepath.Join(c.D.RunDir, "instances", id), filepath.Join(c.D.DataDir, "instances", id)} {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("%s still exists (%v), holding %v; daemon log:\n%s", dir, err, names, Tail(c.D.Stderr(), 3000))
		}
	}
}

func TestFiveInstancesAtOnce(t *testing.T) {
	c := newCloud(t, "")
	var ids []string
	for i := range 5 {
		ids = append(ids, c.Create("vm"+strconv.Itoa(i), kernelImage, nil).ID)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.WaitConsole(id, ready, 1, 3*bootWait)
		}()
	}
	wg.Wait()
	pids := map[int]bool{}
	for _, id := range ids {
		pids[c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second).PID] = true
	}
	if len(pids) != 5 {
		t.Errorf("%d distinct QEMU pids for 5 instances", len(pids))
	}
	for _, id := range ids {
		pid := c.Show(id).PID
		c.DeleteAndWait(id)
		assertNoTrace(t, c, id, pid)
	}
}

func TestFirmwareBootFromDisk(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("bios", diskImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
}

// Rebuild gives a fresh root disk (here from another image, booted by firmware); resize grows the disk of
// a stopped instance and refuses to shrink it.
func TestRebuildAndResize(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("rb", kernelImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	var inst compute.Instance
	if err := c.Do("POST", "/api/v1/instances/"+id+"/rebuild", map[string]string{"image": diskImage}, &inst); err != nil {
		t.Fatal(err)
	}
	log := c.WaitConsole(id, ready, 2, bootWait)
	if !strings.Contains(log, "SYSLINUX") && !strings.Contains(log, "syslinux") {
		t.Errorf("rebuilt instance did not boot through the disk's boot loader:\n%s", Tail(log, 3000))
	}
	rebuilt := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
	if rebuilt.Boot.Kernel != "" {
		t.Errorf("rebuild kept the old image's kernel %s", rebuilt.Boot.Kernel)
	}
	c.Act(id, "stop")
	c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 60*time.Second)
	if err := c.Do("POST", "/api/v1/instances/"+id+"/resize", map[string]string{"flavor": "m1.small"}, &inst); err != nil {
		t.Fatal(err)
	}
	resized := c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 30*time.Second)
	if resized.Flavor.Name != "m1.small" || virtualSize(t, bootDisk(c, resized)) != 20<<30 {
		t.Errorf("after resize: flavor %s, disk %d bytes; want m1.small and 20 GiB", resized.Flavor.Name,
			virtualSize(t, bootDisk(c, resized)))
	}
	status, body := apiStatus(t, c, "POST", "/api/v1/instances/"+id+"/resize", `{"flavor":"m1.tiny"}`)
	if status != 400 || !strings.Contains(body, "smaller") {
		t.Errorf("shrinking resize: %d %s", status, body)
	}
	c.Act(id, "start")
	c.WaitConsole(id, ready, 3, bootWait)
	if got := c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second); got.Flavor.RAMMiB != 2048 {
		t.Errorf("resized instance has %d MiB", got.Flavor.RAMMiB)
	}
}

func virtualSize(t *testing.T, path string) int64 {
	t.Helper()
	out, err := exec.Command("qemu-img", "info", "-U", "-f", "qcow2", "--output=json", path).Output()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v", path, err)
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	return info.VirtualSize
}

// An image that asks for UEFI boots under OVMF with the instance's own copy of the firmware variables.
func TestUEFIImageBootsUnderOVMF(t *testing.T) {
	c := newCloud(t, "")
	g := GuestPaths(t)
	c.ImportImage(map[string]any{"name": "tg-uefi", "path": g.Disk, "disk_format": "qcow2", "firmware": "uefi",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": "console=ttyS0 no_timer_check"})
	id := c.Create("uefi", "tg-uefi", nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	if _, err := os.Stat(filepath.Join(c.D.DataDir, "instances", id, "nvram.fd")); err != nil {
		t.Errorf("per-instance UEFI variables: %v", err)
	}
	if pid := c.Show(id).PID; !strings.Contains(cmdline(pid), "pflash0") {
		t.Errorf("QEMU was not given the OVMF flash: %s", cmdline(pid))
	}
}
