package e2e

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloudlet/images/testguest"
)

// shell runs commands in a test guest over its serial console websocket (the test guest's command
// channel: CLOUDLET-RUN lines in, CLOUDLET-GUEST-OUT/RAN lines out). QEMU's console socket has one
// client, the daemon: tests go through the daemon like anyone.
type shell struct {
	t    testing.TB
	name string
	conn net.Conn
}

var shellIDs atomic.Int64

// shell connects to the instance's serial console, holding its keyboard; the guest must have printed
// its ready marker.
func (c *Cloud) shell(id, name string) *shell {
	c.T.Helper()
	return &shell{t: c.T, name: name, conn: SerialConn(c.T, c.C, id, "keyboard")}
}

// run runs command in the guest and returns its output lines joined by newlines, and its exit code.
func (s *shell) run(command string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	id := "c" + strconv.FormatInt(shellIDs.Add(1), 10)
	res, err := testguest.Run(ctx, s.conn, id, command)
	if err != nil {
		s.t.Fatalf("%s: run %q: %v", s.name, command, err)
	}
	return strings.Join(res.Output, "\n"), res.RC
}

// fetch GETs url from inside the guest (5 s limit) and returns the body, or "" and false.
func (s *shell) fetch(url string) (string, bool) {
	s.t.Helper()
	out, rc := s.run("timeout 5 wget -q -O - " + url)
	return out, rc == 0
}
