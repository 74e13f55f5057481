package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/images"
	"cloudlet/images/testguest"
	"cloudlet/web/client"
)

// cloud is a running daemon with the test guest imported as images.
type cloud struct {
	t     testing.TB
	d     *Daemon
	c     *client.Client
	admin string // admin's bearer token for TCP requests, made on first use
}

// token returns an admin bearer token for requests over TCP.
func (c *cloud) token() string {
	if c.admin == "" {
		c.admin = c.d.AdminToken(c.t)
	}
	return c.admin
}

// Image names the tests boot.
const (
	kernelImage = "tg"      // direct kernel boot; the guest prints its uptime every second
	diskImage   = "tg-disk" // SeaBIOS from the bootable disk
)

// guest builds (or finds cached) the test guest once per test binary.
func guest(t testing.TB) testguest.Paths { return GuestPaths(t) }

// newCloud starts a daemon (extra serve flags allowed) and imports the test guest.
func newCloud(t *testing.T, config string, extra ...string) *cloud {
	t.Helper()
	return newCloudWith(t, NewDaemon(t, cloudletBin), config, extra...)
}

// newCloudWith starts d (whose Env the caller may have set) and imports the test guest.
func newCloudWith(t *testing.T, d *Daemon, config string, extra ...string) *cloud {
	t.Helper()
	if config != "" {
		path := writeFile(t, "cloudlet.json", config)
		extra = append(extra, "--config", path)
	}
	d.Start(t, extra...)
	d.WaitReady(t)
	c := &cloud{t: t, d: d, c: d.Client()}
	g := guest(t)
	c.importImage(map[string]any{"name": kernelImage, "path": g.Disk, "disk_format": "qcow2",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": "console=ttyS0 panic=-1 no_timer_check cloudlet.heartbeat=1"})
	c.importImage(map[string]any{"name": diskImage, "path": g.Disk, "disk_format": "qcow2"})
	return c
}

// importImage imports the files req names (host paths, such as the test guest's) after placing
// them in the daemon's import directory: file imports read nothing else.
func (c *cloud) importImage(req map[string]any) {
	c.t.Helper()
	for _, key := range []string{"path", "kernel_path", "initrd_path"} {
		if p, ok := req[key].(string); ok && p != "" {
			req[key] = c.d.Importable(c.t, p)
		}
	}
	var img images.Image
	ctx, cancel := context.WithTimeout(context.Background(), ImportTimeout)
	defer cancel()
	if err := c.d.ImportClient().Do(ctx, "POST", "/api/v1/images/import-file", req, &img); err != nil {
		c.t.Fatalf("import image %v: %v", req["name"], err)
	}
}

func (c *cloud) do(method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.c.Do(ctx, method, path, in, out)
}

// create asks for an instance and returns the 202 answer.
func (c *cloud) create(name, image string, more map[string]any) compute.Instance {
	c.t.Helper()
	req := map[string]any{"name": name, "image": image, "flavor": "m1.tiny"}
	for k, v := range more {
		req[k] = v
	}
	var inst compute.Instance
	if err := c.do("POST", "/api/v1/instances", req, &inst); err != nil {
		c.t.Fatalf("create %s: %v", name, err)
	}
	return inst
}

func (c *cloud) show(id string) compute.Instance {
	c.t.Helper()
	var inst compute.Instance
	if err := c.do("GET", "/api/v1/instances/"+url.PathEscape(id), nil, &inst); err != nil {
		c.t.Fatalf("show %s: %v", id, err)
	}
	return inst
}

func (c *cloud) act(id, action string) compute.Instance {
	c.t.Helper()
	var inst compute.Instance
	if err := c.do("POST", "/api/v1/instances/"+id+"/"+action, nil, &inst); err != nil {
		c.t.Fatalf("%s %s: %v", action, id, err)
	}
	return inst
}

// waitState polls until the instance has vm and power state with no task.
func (c *cloud) waitState(id string, vm compute.VMState, power compute.PowerState, limit time.Duration) compute.Instance {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	var inst compute.Instance
	for time.Now().Before(deadline) {
		inst = c.show(id)
		if inst.VMState == vm && inst.PowerState == power && inst.TaskState == "" {
			return inst
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("instance %s: want %s/%s within %s, have vm=%s task=%q power=%s fault=%q", inst.Name, vm, power,
		limit, inst.VMState, inst.TaskState, inst.PowerState, inst.Fault)
	return inst
}

// console returns the instance's console log.
func (c *cloud) console(id string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := c.c.Stream(ctx, "GET", "/api/v1/instances/"+id+"/console-log?bytes=1000000")
	if err != nil {
		c.t.Fatalf("console-log %s: %v", id, err)
	}
	defer body.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// waitStage polls the instance until its timeline records stage and returns it. The daemon records
// guest_ready when its console watcher next reads the log, a poll after the marker reached it: a
// test that saw the marker in the console must still wait here before it reads the stage.
func (c *cloud) waitStage(id, stage string, limit time.Duration) compute.Instance {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		inst := c.show(id)
		for _, s := range inst.Timeline {
			if s.Name == stage {
				return inst
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("instance %s: no %s stage within %s: vm=%s power=%s timeline %v", inst.Name, stage, limit,
				inst.VMState, inst.PowerState, inst.Timeline)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitConsole polls the console log until marker appears at least n times, the n-th on a whole line:
// QEMU's serial port writes the log a byte at a time, so a poll may read a line the guest is still
// printing.
func (c *cloud) waitConsole(id, marker string, n int, limit time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	var log string
	for time.Now().Before(deadline) {
		log = c.console(id)
		if nthLineEnded(log, marker, n) {
			return log
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("instance %s: %q seen %d times within %s, want %d; console:\n%s", id, marker,
		strings.Count(log, marker), limit, n, tail(log, 2000))
	return ""
}

// cliExit runs the real CLI against the cloud's socket, fails the test unless it exits with want, and
// returns its stdout and stderr together.
func (c *cloud) cliExit(want int, args ...string) string {
	c.t.Helper()
	out, errOut, code := cli(c.t, append(args, "--socket", c.d.Socket)...)
	if code != want {
		c.t.Fatalf("cloudlet %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	return out + errOut
}

// waitConsoleProgressing waits for marker's first whole line like waitConsole, for as long as the console
// log keeps growing: it fails when the log has not grown for quiet (a stuck guest) or after ceiling in all.
func (c *cloud) waitConsoleProgressing(id, marker string, quiet, ceiling time.Duration) string {
	c.t.Helper()
	start := time.Now()
	var log string
	grew := start
	for time.Since(start) < ceiling && time.Since(grew) < quiet {
		next := c.console(id)
		if len(next) != len(log) {
			grew = time.Now()
		}
		if log = next; nthLineEnded(log, marker, 1) {
			return log
		}
		time.Sleep(time.Second)
	}
	c.t.Fatalf("instance %s: no %q after %s (its console last grew %s ago; stuck after %s, at most %s); console:\n%s",
		id, marker, time.Since(start).Round(time.Second), time.Since(grew).Round(time.Second), quiet, ceiling, tail(log, 2000))
	return ""
}

// waitPrompt polls the console log until it holds prompt (a line the guest has not ended: a getty's
// "login: "), failing at once when a line of the log matches never: the guest said the prompt will not come.
func (c *cloud) waitPrompt(id, prompt string, never *regexp.Regexp, limit time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	var log string
	for time.Now().Before(deadline) {
		if log = c.console(id); strings.Contains(log, prompt) {
			return
		}
		if line := never.FindString(log); line != "" {
			c.t.Fatalf("instance %s: no %q will come: %q; console:\n%s", id, prompt, line, tail(log, 4000))
		}
		time.Sleep(time.Second)
	}
	c.t.Fatalf("instance %s: no %q within %s; console:\n%s", id, prompt, limit, tail(log, 2000))
}

// nthLineEnded reports whether log holds marker at least n times and the line of its n-th occurrence
// has ended.
func nthLineEnded(log, marker string, n int) bool {
	at := 0
	for i := 0; i < n; i++ {
		j := strings.Index(log[at:], marker)
		if j < 0 {
			return false
		}
		at += j + len(marker)
	}
	return strings.Contains(log[at:], "\n")
}

func (c *cloud) deleteAndWait(id string) {
	c.t.Helper()
	var inst compute.Instance
	if err := c.do("DELETE", "/api/v1/instances/"+id, nil, &inst); err != nil {
		c.t.Fatalf("delete %s: %v", id, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		err := c.do("GET", "/api/v1/instances/"+id, nil, nil)
		if apiErr, ok := err.(*client.Error); ok && apiErr.Code == 404 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("instance %s not deleted within 60s", id)
}

// qemuStart is the /proc start time of pid, or "" when it is gone.
func qemuStart(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return fields[19]
}

func processAlive(pid int) bool { return pid > 0 && qemuStart(pid) != "" && !isZombie(pid) }

func isZombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	rest := string(data[strings.LastIndexByte(string(data), ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

func cmdline(pid int) string {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.ReplaceAll(string(data), "\x00", " ")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// bootDisk is the active file of an instance's boot volume (in the default pool).
func bootDisk(c *cloud, inst compute.Instance) string {
	return filepath.Join(c.d.DataDir, "pools", "default", inst.BootVolumeID, "active.qcow2")
}
