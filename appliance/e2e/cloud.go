package e2e

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/images"
	"cloudlet/web/client"
)

// Cloud is a running daemon with the test guest imported as images, driven over its socket as root:
// what the end-to-end packages create, wait on and read through.
type Cloud struct {
	T     testing.TB
	D     *Daemon
	C     *client.Client
	admin string // admin's bearer token for TCP requests, made on first use
}

// Token returns an admin bearer token for requests over TCP.
func (c *Cloud) Token() string {
	if c.admin == "" {
		c.admin = c.D.AdminToken(c.T)
	}
	return c.admin
}

// Image names the tests boot.
const (
	kernelImage = "tg"      // direct kernel boot; the guest prints its uptime every second
	diskImage   = "tg-disk" // SeaBIOS from the bootable disk
)

// NewCloud starts a daemon of bin (config, when not empty, is its config file's text; extra serve
// flags allowed) and imports the test guest.
func NewCloud(t testing.TB, bin, config string, extra ...string) *Cloud {
	t.Helper()
	return NewCloudWith(t, NewDaemon(t, bin), config, extra...)
}

// NewCloudWith starts d (whose Env the caller may have set) and imports the test guest.
func NewCloudWith(t testing.TB, d *Daemon, config string, extra ...string) *Cloud {
	t.Helper()
	if config != "" {
		path := writeFile(t, "cloudlet.json", config)
		extra = append(extra, "--config", path)
	}
	d.Start(t, extra...)
	d.WaitReady(t)
	c := CloudOf(t, d)
	g := GuestPaths(t)
	c.ImportImage(map[string]any{"name": kernelImage, "path": g.Disk, "disk_format": "qcow2",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": testGuestCmdline})
	c.ImportImage(map[string]any{"name": diskImage, "path": g.Disk, "disk_format": "qcow2"})
	return c
}

// CloudOf drives d, started already, with nothing imported.
func CloudOf(t testing.TB, d *Daemon) *Cloud { return &Cloud{T: t, D: d, C: d.Client()} }

// writeFile writes content to a file name in a temp dir of t's and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ImportImage imports the files req names (host paths, such as the test guest's) after placing
// them in the daemon's import directory: file imports read nothing else.
func (c *Cloud) ImportImage(req map[string]any) {
	c.T.Helper()
	for _, key := range []string{"path", "kernel_path", "initrd_path"} {
		if p, ok := req[key].(string); ok && p != "" {
			req[key] = c.D.Importable(c.T, p)
		}
	}
	var img images.Image
	ctx, cancel := context.WithTimeout(context.Background(), ImportTimeout)
	defer cancel()
	if err := c.D.ImportClient().Do(ctx, "POST", "/api/v1/images/import-file", req, &img); err != nil {
		c.T.Fatalf("import image %v: %v", req["name"], err)
	}
}

// Do calls the API as root over the socket, bounded by 30 s.
func (c *Cloud) Do(method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.C.Do(ctx, method, path, in, out)
}

// Create asks for an instance and returns the 202 answer.
func (c *Cloud) Create(name, image string, more map[string]any) compute.Instance {
	c.T.Helper()
	req := map[string]any{"name": name, "image": image, "flavor": "m1.tiny"}
	for k, v := range more {
		req[k] = v
	}
	var inst compute.Instance
	if err := c.Do("POST", "/api/v1/instances", req, &inst); err != nil {
		c.T.Fatalf("create %s: %v", name, err)
	}
	return inst
}

// Show reads an instance (by ID or name); an error ends the test.
func (c *Cloud) Show(id string) compute.Instance {
	c.T.Helper()
	var inst compute.Instance
	if err := c.Do("GET", "/api/v1/instances/"+url.PathEscape(id), nil, &inst); err != nil {
		c.T.Fatalf("show %s: %v", id, err)
	}
	return inst
}

// Act posts an instance action (start, stop, reboot…) and returns the answer; an error ends the test.
func (c *Cloud) Act(id, action string) compute.Instance {
	c.T.Helper()
	var inst compute.Instance
	if err := c.Do("POST", "/api/v1/instances/"+id+"/"+action, nil, &inst); err != nil {
		c.T.Fatalf("%s %s: %v", action, id, err)
	}
	return inst
}

// WaitState polls until the instance has vm and power state with no task.
func (c *Cloud) WaitState(id string, vm compute.VMState, power compute.PowerState, limit time.Duration) compute.Instance {
	c.T.Helper()
	deadline := time.Now().Add(limit)
	var inst compute.Instance
	for time.Now().Before(deadline) {
		inst = c.Show(id)
		if inst.VMState == vm && inst.PowerState == power && inst.TaskState == "" {
			return inst
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.T.Fatalf("instance %s: want %s/%s within %s, have vm=%s task=%q power=%s fault=%q", inst.Name, vm, power,
		limit, inst.VMState, inst.TaskState, inst.PowerState, inst.Fault)
	return inst
}

// Console returns the instance's console log.
func (c *Cloud) Console(id string) string {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := c.C.Stream(ctx, "GET", "/api/v1/instances/"+id+"/console-log?bytes=1000000")
	if err != nil {
		c.T.Fatalf("console-log %s: %v", id, err)
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

// WaitStage polls the instance until its timeline records stage and returns it. The daemon records
// guest_ready when its console watcher next reads the log, a poll after the marker reached it: a
// test that saw the marker in the console must still wait here before it reads the stage.
func (c *Cloud) WaitStage(id, stage string, limit time.Duration) compute.Instance {
	c.T.Helper()
	deadline := time.Now().Add(limit)
	for {
		inst := c.Show(id)
		for _, s := range inst.Timeline {
			if s.Name == stage {
				return inst
			}
		}
		if time.Now().After(deadline) {
			c.T.Fatalf("instance %s: no %s stage within %s: vm=%s power=%s timeline %v", inst.Name, stage, limit,
				inst.VMState, inst.PowerState, inst.Timeline)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitConsole polls the console log until marker appears at least n times, the n-th on a whole line:
// QEMU's serial port writes the log a byte at a time, so a poll may read a line the guest is still
// printing.
func (c *Cloud) WaitConsole(id, marker string, n int, limit time.Duration) string {
	c.T.Helper()
	deadline := time.Now().Add(limit)
	var log string
	for time.Now().Before(deadline) {
		log = c.Console(id)
		if nthLineEnded(log, marker, n) {
			return log
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.T.Fatalf("instance %s: %q seen %d times within %s, want %d; console:\n%s", id, marker,
		strings.Count(log, marker), limit, n, Tail(log, 2000))
	return ""
}

// CLIExit runs the real CLI against the cloud's socket, fails the test unless it exits with want, and
// returns its stdout and stderr together.
func (c *Cloud) CLIExit(want int, args ...string) string {
	c.T.Helper()
	out, errOut, code := CLI(c.T, c.D.Bin, append(args, "--socket", c.D.Socket)...)
	if code != want {
		c.T.Fatalf("cloudlet %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	return out + errOut
}

// WaitConsoleProgressing waits for marker's first whole line like WaitConsole, for as long as the console
// log keeps growing: it fails when the log has not grown for quiet (a stuck guest) or after ceiling in all.
func (c *Cloud) WaitConsoleProgressing(id, marker string, quiet, ceiling time.Duration) string {
	c.T.Helper()
	start := time.Now()
	var log string
	grew := start
	for time.Since(start) < ceiling && time.Since(grew) < quiet {
		next := c.Console(id)
		if len(next) != len(log) {
			grew = time.Now()
		}
		if log = next; nthLineEnded(log, marker, 1) {
			return log
		}
		time.Sleep(time.Second)
	}
	c.T.Fatalf("instance %s: no %q after %s (its console last grew %s ago; stuck after %s, at most %s); console:\n%s",
		id, marker, time.Since(start).Round(time.Second), time.Since(grew).Round(time.Second), quiet, ceiling, Tail(log, 2000))
	return ""
}

// WaitPrompt polls the console log until it holds prompt (a line the guest has not ended: a getty's
// "login: "), failing at once when a line of the log matches never: the guest said the prompt will not come.
func (c *Cloud) WaitPrompt(id, prompt string, never *regexp.Regexp, limit time.Duration) {
	c.T.Helper()
	deadline := time.Now().Add(limit)
	var log string
	for time.Now().Before(deadline) {
		if log = c.Console(id); strings.Contains(log, prompt) {
			return
		}
		if line := never.FindString(log); line != "" {
			c.T.Fatalf("instance %s: no %q will come: %q; console:\n%s", id, prompt, line, Tail(log, 4000))
		}
		time.Sleep(time.Second)
	}
	c.T.Fatalf("instance %s: no %q within %s; console:\n%s", id, prompt, limit, Tail(log, 2000))
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

// DeleteAndWait deletes an instance and waits, up to 60 s, until it is gone.
func (c *Cloud) DeleteAndWait(id string) {
	c.T.Helper()
	var inst compute.Instance
	if err := c.Do("DELETE", "/api/v1/instances/"+id, nil, &inst); err != nil {
		c.T.Fatalf("delete %s: %v", id, err)
	}
	c.WaitGone(id, time.Minute)
}

// WaitGone polls until the instance is not found (404), failing the test after limit.
func (c *Cloud) WaitGone(id string, limit time.Duration) {
	c.T.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		err := c.Do("GET", "/api/v1/instances/"+id, nil, nil)
		if apiErr, ok := err.(*client.Error); ok && apiErr.Code == 404 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.T.Fatalf("instance %s still there after %s", id, limit)
}

// Tail is the last n bytes of s (a console log in a failure message).
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
