package qga

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testTimeout is the client's deadline in these tests: short, so a hanging agent costs little.
const testTimeout = 300 * time.Millisecond

// req is one command as the fake agent received it.
type req struct {
	Execute   string
	Arguments struct {
		ID     int64
		Mode   string
		Path   string
		Handle int64
		Count  int
	}
}

// fakeAgent listens on a unix socket and answers each command through answer, which writes
// whatever it likes (nothing, garbage, floods) to w.
func fakeAgent(t *testing.T, answer func(r req, w io.Writer)) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "qga")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go serveFake(conn, answer)
		}
	}()
	return path
}

func serveFake(conn net.Conn, answer func(r req, w io.Writer)) {
	defer conn.Close()
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		var r req
		if json.Unmarshal(bytes.TrimLeft(sc.Bytes(), "\xff"), &r) != nil {
			return
		}
		answer(r, conn)
	}
}

// honest answers as qemu-ga does: the sync with its sentinel, the rest from replies (a JSON value
// per command, sent as "return").
func honest(replies map[string]string) func(req, io.Writer) {
	return func(r req, w io.Writer) {
		if r.Execute == "guest-sync-delimited" {
			fmt.Fprintf(w, "\xff{\"return\": %d}\n", r.Arguments.ID)
			return
		}
		if v, ok := replies[r.Execute]; ok {
			var one bytes.Buffer // qemu-ga writes each reply on one line
			if err := json.Compact(&one, []byte(v)); err != nil {
				panic(err)
			}
			fmt.Fprintf(w, "{\"return\": %s}\n", one.Bytes())
		}
	}
}

// dial connects with testTimeout and fails the test on error.
func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), path, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// bounded runs fn and fails the test when it takes longer than a few client deadlines.
func bounded(t *testing.T, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	if d := time.Since(start); d > 5*testTimeout {
		t.Errorf("took %v, want it bounded by the client's deadline (%v)", d, testTimeout)
	}
}
