package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// Faults table: the daemon killed in the middle of create and of delete. After a restart every instance
// has settled (running and adopted, or error with a reason), nothing is half-made, and delete still
// frees everything.
func TestDaemonKilledMidCreateAndMidDelete(t *testing.T) {
	c := newCloud(t, "")
	for i, delay := range []time.Duration{0, 30 * time.Millisecond, 150 * time.Millisecond, 600 * time.Millisecond} {
		name := "crash" + string(rune('a'+i))
		id := c.create(name, kernelImage, nil).ID
		time.Sleep(delay)
		c.d.Kill()
		c.d.Start(t)
		c.d.WaitReady(t)
		inst := settle(t, c, id)
		switch inst.VMState {
		case compute.VMActive:
			if !strings.Contains(cmdline(inst.PID), id) {
				t.Errorf("%s: active but pid %d is not its QEMU", name, inst.PID)
			}
		case compute.VMError:
			if inst.Fault == "" {
				t.Errorf("%s: error without a reason", name)
			}
		default:
			t.Errorf("%s: settled in %s/%s after a crash mid-create", name, inst.VMState, inst.PowerState)
		}
		assertNoTemps(t, c, id)

		var deleting compute.Instance
		if err := c.do("DELETE", "/api/v1/instances/"+id, nil, &deleting); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		c.d.Kill()
		c.d.Start(t)
		c.d.WaitReady(t)
		waitGone(t, c, id)
		assertNoTrace(t, c, id, inst.PID)
	}
}

// settle waits until the instance has no task.
func settle(t *testing.T, c *cloud, id string) compute.Instance {
	t.Helper()
	deadline := time.Now().Add(bootWait)
	for time.Now().Before(deadline) {
		inst := c.show(id)
		if inst.TaskState == "" && inst.VMState != compute.VMBuilding {
			return inst
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("instance %s never settled: %+v", id, c.show(id))
	return compute.Instance{}
}

func waitGone(t *testing.T, c *cloud, id string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		err := c.do("GET", "/api/v1/instances/"+id, nil, nil)
		if apiErr, ok := err.(*client.Error); ok && apiErr.Code == 404 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("instance %s still there after a restart mid-delete", id)
}

func assertNoTemps(t *testing.T, c *cloud, id string) {
	t.Helper()
	tmps, _ := filepath.Glob(filepath.Join(c.d.DataDir, "instances", id, "*.tmp"))
	if len(tmps) > 0 {
		t.Errorf("half-written files left: %v", tmps)
	}
	if _, err := os.Stat(filepath.Join(c.d.DataDir, "instances", id)); err != nil && !os.IsNotExist(err) {
		t.Error(err)
	}
}
