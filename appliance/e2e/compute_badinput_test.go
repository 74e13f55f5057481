package e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// apiStatus sends a raw JSON body and returns the status and error message.
func apiStatus(t *testing.T, c *Cloud, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+c.D.Listen+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

// Bad input from the compute issue: each gets a clear 4xx naming the problem and leaves nothing behind.
func TestComputeBadInput(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("taken", kernelImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"unknown flavor", "POST", "/api/v1/instances", `{"name":"a","image":"tg","flavor":"m9.huge"}`, 400, `unknown flavor \"m9.huge\"`},
		{"unknown image", "POST", "/api/v1/instances", `{"name":"a","image":"nope","flavor":"m1.tiny"}`, 400, `unknown image \"nope\"`},
		{"duplicate name", "POST", "/api/v1/instances", `{"name":"taken","image":"tg","flavor":"m1.tiny"}`, 409, "taken"},
		{"path in name", "POST", "/api/v1/instances", `{"name":"../etc","image":"tg","flavor":"m1.tiny"}`, 400, "name"},
		{"comma in name", "POST", "/api/v1/instances", `{"name":"a,b","image":"tg","flavor":"m1.tiny"}`, 400, "name"},
		{"leading dash", "POST", "/api/v1/instances", `{"name":"-x","image":"tg","flavor":"m1.tiny"}`, 400, "name"},
		{"wrong type", "POST", "/api/v1/instances", `{"name":1}`, 400, "name"},
		{"unknown field", "POST", "/api/v1/instances", `{"name":"a","cpus":4}`, 400, "cpus"},
		{"malformed JSON", "POST", "/api/v1/instances", `{"name":`, 400, "JSON"},
		{"negative vcpus", "POST", "/api/v1/flavors", `{"name":"neg","vcpus":-1,"ram_mib":512}`, 400, "vcpus"},
		{"absurd RAM", "POST", "/api/v1/flavors", `{"name":"big","vcpus":1,"ram_mib":999999999}`, 400, "ram_mib"},
		{"absurd disk", "POST", "/api/v1/flavors", `{"name":"big","vcpus":1,"ram_mib":512,"disk_gib":99999999}`, 400, "disk_gib"},
		{"start while active", "POST", "/api/v1/instances/taken/start", ``, 409, "vm_state is active"},
		{"resume while active", "POST", "/api/v1/instances/taken/resume", ``, 409, "vm_state is active"},
		{"unknown action", "POST", "/api/v1/instances/taken/explode", ``, 404, "unknown instance action"},
		{"unknown instance", "POST", "/api/v1/instances/ghost/stop", ``, 404, "ghost"},
		{"resize to unknown flavor", "POST", "/api/v1/instances/taken/resize", `{"flavor":"nope"}`, 400, "unknown flavor"},
	} {
		status, body := apiStatus(t, c, tc.method, tc.path, tc.body)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d containing %q", tc.name, status, body, tc.status, tc.want)
		}
	}
	var list []compute.Instance
	if err := c.Do("GET", "/api/v1/instances", nil, &list); err != nil || len(list) != 1 {
		t.Errorf("after bad requests: %d instances (%v), want 1", len(list), err)
	}
	entries, _ := os.ReadDir(filepath.Join(c.D.DataDir, "instances"))
	if len(entries) != 1 {
		t.Errorf("%d instance state dirs, want 1", len(entries))
	}
	var flavors []compute.Flavor
	if err := c.Do("GET", "/api/v1/flavors", nil, &flavors); err != nil || len(flavors) != 4 {
		t.Errorf("%d flavors after bad creates (%v), want the 4 defaults", len(flavors), err)
	}
}

// A root disk that vanished while the instance was stopped: start records the reason, starts nothing.
func TestStartWithVanishedDiskRecordsTheReason(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("lost", kernelImage, nil).ID
	c.WaitConsole(id, ready, 1, bootWait)
	c.Act(id, "stop")
	inst := c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 60*time.Second)
	if err := os.Remove(bootDisk(c, inst)); err != nil {
		t.Fatal(err)
	}
	c.Act(id, "start")
	got := c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 10*time.Second)
	if !strings.Contains(got.Fault, "disk of volume") || !strings.Contains(got.Fault, "missing") || got.PID != 0 {
		t.Errorf("fault %q pid %d, want the missing boot disk named and no process", got.Fault, got.PID)
	}
	if _, err := os.Stat(filepath.Join(c.D.RunDir, "instances", id)); !os.IsNotExist(err) {
		t.Errorf("run dir left behind: %v", err)
	}
}

// A missing or broken QEMU binary: the instance goes to error with QEMU's own message; nothing is left.
func TestMissingOrBrokenQEMU(t *testing.T) {
	for _, tc := range []struct {
		name, script, want string
	}{
		{"missing", "", "not found"},
		{"broken", "#!/bin/sh\necho 'qemu-system-x86_64: this build is broken' >&2\nexit 1\n", "this build is broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			for _, tool := range []string{"qemu-img", "prlimit", "iptables", "iptables-save", "iptables-restore", "nft"} {
				if p, err := exec.LookPath(tool); err == nil {
					os.Symlink(p, filepath.Join(bin, tool))
				}
			}
			if tc.script != "" {
				if err := os.WriteFile(filepath.Join(bin, "qemu-system-x86_64"), []byte(tc.script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			d := NewDaemon(t, cloudletBin)
			d.Env = []string{"PATH=" + bin}
			c := NewCloudWith(t, d, "")
			id := c.Create("vm", kernelImage, nil).ID
			got := c.WaitState(id, compute.VMError, compute.PowerNoState, 30*time.Second)
			if !strings.Contains(got.Fault, tc.want) {
				t.Errorf("fault %q, want %q", got.Fault, tc.want)
			}
			if _, err := os.Stat(filepath.Join(d.RunDir, "instances", id, "qemu.pid")); !os.IsNotExist(err) {
				t.Errorf("pidfile left behind: %v", err)
			}
			c.DeleteAndWait(id)
			assertNoTrace(t, c, id, 0)
		})
	}
}

// Admission: with the CPU ratio set so the host offers one vcpu, a second instance is refused with 507
// naming the shortage, before any QEMU runs; stopping the first frees its place.
func TestNoCapacityIsAClearError(t *testing.T) {
	c := newCloud(t, `{"cpu_allocation_ratio": 0.5}`)
	first := c.Create("first", kernelImage, nil).ID
	status, body := apiStatus(t, c, "POST", "/api/v1/instances", `{"name":"second","image":"tg","flavor":"m1.tiny"}`)
	if status != 507 || !strings.Contains(body, "no capacity") || !strings.Contains(body, "vcpus") {
		t.Fatalf("second instance: %d %s, want 507 naming vcpus", status, body)
	}
	c.WaitConsole(first, ready, 1, bootWait)
	c.Act(first, "stop")
	c.WaitState(first, compute.VMStopped, compute.PowerShutdown, 60*time.Second)
	second := c.Create("second", kernelImage, nil).ID
	c.WaitState(second, compute.VMActive, compute.PowerRunning, bootWait)
	status, body = apiStatus(t, c, "POST", "/api/v1/instances/first/start", "")
	if status != 507 {
		t.Errorf("starting beyond capacity: %d %s, want 507", status, body)
	}
}
