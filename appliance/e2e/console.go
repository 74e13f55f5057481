package e2e

import (
	"context"
	"net"
	"regexp"
	"testing"
	"time"

	"cloudlet/internal/testkit"
	"cloudlet/web/client"

	"github.com/coder/websocket"
)

// SerialConn opens the instance's serial console websocket in mode as a net.Conn of its bytes;
// cleanup closes it.
func SerialConn(t testing.TB, cl *client.Client, id, mode string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := cl.Websocket(ctx, "/api/v1/instances/"+id+"/console?mode="+mode)
	if err != nil {
		t.Fatalf("connect to the serial console of %s: %v", id, err)
	}
	conn := websocket.NetConn(context.Background(), ws, websocket.MessageBinary)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// ConsoleLogin logs in on the instance's serial console as user with pass (a getty's "login:" and
// "Password:" prompts), runs hostname and returns what it printed. For guests with a login on
// ttyS0 (the Debian cloud-init guest with --password); the test guest has none.
func ConsoleLogin(t *testing.T, c *Cloud, id, user, pass string) (hostname string) {
	t.Helper()
	conn := SerialConn(t, c.C, id, "keyboard")
	defer conn.Close()
	const wait = 2 * time.Minute
	send := func(s string) {
		if _, err := conn.Write([]byte(s)); err != nil {
			t.Fatalf("type on the serial console of %s: %v", id, err)
		}
	}
	send("\r") // a fresh prompt: the first may have scrolled by before we attached
	// The command waits for the shell's prompt: what is typed before it is flushed with the login's tty.
	for _, step := range []struct{ prompt, answer string }{{"login: ", user + "\r"}, {"Password: ", pass + "\r"},
		{"$ ", "echo HOST-$(hostname)-END\r"}} {
		if _, err := testkit.ReadUntil(conn, step.prompt, wait); err != nil {
			t.Fatalf("serial login on %s: waiting for %q: %v", id, step.prompt, err)
		}
		send(step.answer)
	}
	out, err := testkit.ReadUntil(conn, "-END\r\n", wait) // the echoed command line ends with -END\r too
	if err != nil {
		t.Fatalf("serial login on %s: hostname: %v", id, err)
	}
	m := regexp.MustCompile(`HOST-([a-z0-9.-]+)-END\r\n`).FindStringSubmatch(out)
	if m == nil {
		out, err = testkit.ReadUntil(conn, "-END\r\n", wait)
		if m = regexp.MustCompile(`HOST-([a-z0-9.-]+)-END\r\n`).FindStringSubmatch(out); err != nil || m == nil {
			t.Fatalf("serial login on %s: no hostname in %q: %v", id, out, err)
		}
	}
	return m[1]
}
