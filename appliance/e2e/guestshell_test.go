package e2e

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloudlet/images/testguest"
)

// shell runs commands in a test guest over its serial console socket (the test guest's command
// channel: CLOUDLET-RUN lines in, CLOUDLET-GUEST-OUT/RAN lines out).
type shell struct {
	t    testing.TB
	name string
	conn net.Conn
}

var shellIDs atomic.Int64

// shell connects to the instance's serial console; the guest must have printed its ready marker.
func (c *cloud) shell(id, name string) *shell {
	c.t.Helper()
	path := filepath.Join(c.d.RunDir, "instances", id, "console.sock")
	conn, err := net.Dial("unix", path)
	if err != nil {
		c.t.Fatalf("connect to the console of %s: %v", name, err)
	}
	c.t.Cleanup(func() { conn.Close() })
	return &shell{t: c.t, name: name, conn: conn}
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
