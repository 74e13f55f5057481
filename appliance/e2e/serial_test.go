package e2e

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/qemu"
	"cloudlet/internal/testkit"
	"cloudlet/web/client"
)

// Issue 13, Done when: a test types a command into the test guest's serial console over the
// websocket and reads its output; a second viewer, view only, sees the same output; a websocket
// without credentials is refused.
func TestACommandTypedOnTheSerialWebsocketRunsInTheGuestAndViewersSeeIt(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("serial", kernelImage, nil).ID
	c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	c.WaitConsole(id, ready, 1, bootWait)

	viewer := SerialConn(t, c.C, id, "view")
	sh := c.shell(id, "serial")
	if out, rc := sh.run("echo typed-$((6*7))"); out != "typed-42" || rc != 0 {
		t.Fatalf("command over the websocket: %q rc=%d, want typed-42 rc=0", out, rc)
	}
	if _, err := readUntil(viewer, "typed-42", 30*time.Second); err != nil {
		t.Errorf("the view-only viewer did not see the output: %v", err)
	}
	checkConsoleBufferWidened(t, c, id)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	anon := client.New(client.Options{URL: "http://" + c.D.Listen})
	if _, _, err := anon.Websocket(ctx, "/api/v1/instances/"+id+"/console"); !isHTTP(err, http.StatusUnauthorized) {
		t.Errorf("websocket without credentials: got %v, want 401", err)
	}
	if _, _, err := c.C.Websocket(ctx, "/api/v1/instances/"+id+"/console?mode=keyboard"); !isHTTP(err, http.StatusConflict) {
		t.Errorf("asking for the keyboard another viewer holds: got %v, want 409", err)
	}
	reader := readerClient(t, c)
	if _, _, err := reader.Websocket(ctx, "/api/v1/instances/"+id+"/console?mode=keyboard"); !isHTTP(err, http.StatusForbidden) {
		t.Errorf("a reader asking for the keyboard: got %v, want 403", err)
	}
	ws, resp, err := reader.Websocket(ctx, "/api/v1/instances/"+id+"/console")
	if err != nil {
		t.Fatalf("a reader watching: %v", err)
	}
	if got := resp.Header.Get("X-Cloudlet-Console-Mode"); got != "view" {
		t.Errorf("a reader watching got mode %q, want view", got)
	}
	defer ws.CloseNow()
	checkSerialTicket(t, ctx, reader, anon, id)
	for range compute.DefaultSerialViewers - 4 { // four are attached
		SerialConn(t, c.C, id, "view")
	}
	if _, _, err := c.C.Websocket(ctx, "/api/v1/instances/"+id+"/console?mode=view"); !isHTTP(err, http.StatusTooManyRequests) {
		t.Errorf("one viewer over the limit: got %v, want 429", err)
	}
}

// Issue 13, Done when: the CLI console driven through a pseudo-terminal against the real daemon:
// output appears, typed input reaches the guest, Ctrl-] detaches and restores the terminal, and the
// guest keeps running.
func TestTheCLIConsoleOnAPseudoTerminalTypesIntoTheGuestAndDetachesOnCtrlBracket(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("tty", kernelImage, nil).ID
	c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	c.WaitConsole(id, ready, 1, bootWait)

	term := testkit.OpenTerminal(t)
	cmd := exec.Command(cloudletBin, "--socket", c.D.Socket, "instance", "console", "tty")
	term.Start(cmd)
	if _, err := term.ReadUntil("Ctrl-] detaches.", 30*time.Second); err != nil {
		t.Fatalf("console banner: %v", err)
	}
	term.Type("CLOUDLET-RUN p1 echo pty-$((2*21))\r")
	if _, err := term.ReadUntil("CLOUDLET-GUEST-OUT p1 pty-42", 90*time.Second); err != nil {
		t.Fatalf("typed command's output: %v", err)
	}
	term.Type("\x1d") // Ctrl-]
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("cloudlet instance console after Ctrl-]: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Ctrl-] did not end cloudlet instance console")
	}
	if err := term.Restored(); err != nil {
		t.Error(err)
	}
	if inst := c.Show(id); inst.VMState != compute.VMActive || inst.PowerState != compute.PowerRunning {
		t.Errorf("after the detach the instance is %s/%s, want active/running", inst.VMState, inst.PowerState)
	}
	if out, rc := c.shell(id, "tty").run("echo still-here"); out != "still-here" || rc != 0 {
		t.Errorf("the guest after the detach: %q rc=%d", out, rc)
	}
}

// Issue 13, Done when: the console log holds the whole boot after three attach/detach cycles and a
// daemon restart in between: what the guest printed while the daemon was down is there, nothing is
// lost or repeated.
func TestTheConsoleLogHoldsTheWholeBootAcrossAttachesAndADaemonRestart(t *testing.T) {
	c := newCloud(t, "")
	id := c.Create("bootlog", kernelImage, nil).ID
	c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	c.WaitConsole(id, ready, 1, bootWait)
	var whileDown int
	for i := range 3 {
		conn := SerialConn(t, c.C, id, "view")
		if _, err := readUntil(conn, "CLOUDLET-GUEST-UPTIME", 30*time.Second); err != nil {
			t.Fatalf("attach %d: %v", i, err)
		}
		conn.Close()
		if i == 1 {
			c.D.Kill()
			whileDown = waitUptimeLines(t, c.consoleLog(id), 3) // the guest prints on, QEMU logs it
			c.D.Start(t)
			c.D.WaitReady(t)
		}
	}
	log := c.WaitConsole(id, "CLOUDLET-GUEST-UPTIME", whileDown+2, bootWait)
	for _, marker := range []string{"Linux version", bootLine, ready} {
		if n := strings.Count(log, marker); n != 1 {
			t.Errorf("%q appears %d times in the log, want once", marker, n)
		}
	}
	// The guest prints its uptime every second: increasing, and no long gap (the daemon was down
	// for three of them at least).
	var prev float64
	for _, m := range uptimeValue.FindAllStringSubmatch(log, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		if v <= prev || (prev > 0 && v-prev > 10) {
			t.Errorf("uptime %.2f after %.2f: output repeated or lost", v, prev)
		}
		prev = v
	}
}

var uptimeValue = regexp.MustCompile(`CLOUDLET-GUEST-UPTIME (\d+\.\d+)`)

// waitUptimeLines waits until the log file at path holds n more uptime lines than now and returns
// how many it holds then.
func waitUptimeLines(t *testing.T, path string, n int) int {
	t.Helper()
	count := func() int {
		b, _ := os.ReadFile(path)
		return strings.Count(string(b), "CLOUDLET-GUEST-UPTIME")
	}
	want := count() + n
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got := count(); got >= want {
			return got
		}
	}
	t.Fatalf("%s: fewer than %d uptime lines within a minute", path, want)
	return 0
}

// Issue 13, Done when: a guest printing in a loop keeps the log under the cap, and the API answers.
func TestAGuestPrintingInALoopKeepsTheConsoleLogUnderTheCap(t *testing.T) {
	const capBytes = 64 << 10
	c := newCloud(t, `{"console_log_max_bytes": 65536}`)
	id := c.Create("flood", kernelImage, nil).ID
	c.WaitState(id, compute.VMActive, compute.PowerRunning, bootWait)
	c.WaitConsole(id, ready, 1, bootWait)
	c.shell(id, "flood").run("(while :; do echo flood-flood-flood-flood-flood-flood-flood-flood; done >/dev/ttyS0 2>&1 &)")
	logPath := c.consoleLog(id)
	rotations := 0
	var last int64
	deadline := time.Now().Add(2 * time.Minute)
	for rotations < 4 && time.Now().Before(deadline) {
		cur, old := fileSize(t, logPath), fileSize(t, logPath+".1")
		if cur+old > capBytes {
			t.Fatalf("console.log %d + console.log.1 %d bytes: over the cap %d", cur, old, capBytes)
		}
		if cur < last {
			rotations++
		}
		last = cur
		time.Sleep(20 * time.Millisecond)
	}
	if rotations < 4 {
		t.Fatalf("saw %d rotations within 2 minutes, want 4: is the guest printing?", rotations)
	}
	if log := c.Console(id); !strings.Contains(Tail(log, 200), "flood-flood") || len(log) > capBytes {
		t.Errorf("console-log: %d bytes ending %q; want the newest output, under the cap", len(log), Tail(log, 80))
	}
}

// readerClient is a client of user "watcher", a reader in the admin project, over TCP.
func readerClient(t *testing.T, c *Cloud) *client.Client {
	t.Helper()
	const pw = "watcher-pw-5d2c9a"
	for _, step := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/users", map[string]any{"name": "watcher", "password": pw, "enabled": true, "default_project": "admin"}},
		{"PUT", "/api/v1/projects/admin/users/watcher/roles/reader", nil},
	} {
		if err := c.Do(step.method, step.path, step.body, nil); err != nil {
			t.Fatalf("%s %s: %v", step.method, step.path, err)
		}
	}
	token, _ := httpAPI{t: t, base: "http://" + c.D.Listen}.login("watcher", pw, "admin")
	return client.New(client.Options{URL: "http://" + c.D.Listen, Token: token})
}

// readUntil reads conn until what it read ends with s, within limit, and returns what it read.
func readUntil(conn net.Conn, s string, limit time.Duration) (string, error) {
	return testkit.ReadUntil(conn, s, limit)
}

func isHTTP(err error, code int) bool {
	var ae *client.Error
	return errors.As(err, &ae) && ae.Code == code
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	} else if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// checkSerialTicket opens the serial console as a browser does: a serial ticket from
// POST …/console-tickets, then the websocket with only the ticket (anon sends no token). The reader's
// ticket gives view only; the same ticket a second time is refused (401). The viewer stays attached.
func checkSerialTicket(t *testing.T, ctx context.Context, reader, anon *client.Client, id string) {
	t.Helper()
	var tk struct {
		URL string `json:"url"`
	}
	if err := reader.Do(ctx, "POST", "/api/v1/instances/"+id+"/console-tickets", map[string]string{"kind": "serial"}, &tk); err != nil {
		t.Fatalf("a reader's serial ticket: %v", err)
	}
	ws, resp, err := anon.Websocket(ctx, tk.URL)
	if err != nil {
		t.Fatalf("the serial console with the reader's ticket: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if got := resp.Header.Get("X-Cloudlet-Console-Mode"); got != "view" {
		t.Errorf("a reader's ticket got mode %q, want view", got)
	}
	if _, _, err := anon.Websocket(ctx, tk.URL); !isHTTP(err, http.StatusUnauthorized) {
		t.Errorf("the same serial ticket again: got %v, want 401", err)
	}
}

// checkConsoleBufferWidened: the daemon gave the real QEMU's end of the console connection the wide send
// buffer, so QEMU's one-byte writes do not block — nor does QEMU 7.2 log a held byte twice — until the
// daemon's reader is thousands of bytes behind (a byte doubled in console.log failed a CI run on a
// loaded machine).
func checkConsoleBufferWidened(t *testing.T, c *Cloud, id string) {
	t.Helper()
	sock := filepath.Join(c.D.RunDir, "instances", id, "console.sock")
	if got, err := qemu.ConsoleBuffer(c.Show(id).PID, sock); err != nil || got < qemu.ConsoleSendBuffer {
		t.Errorf("QEMU's end of the console connection has a send buffer of %d (%v), want at least %d", got, err, qemu.ConsoleSendBuffer)
	}
}
