package qmptest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, srv *qmptest.Server) *qmp.Monitor {
	t.Helper()
	m, err := qmp.Dial(testContext(t), srv.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// raw is a bare protocol client: it sends lines and reads lines.
type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, srv *qmptest.Server) *raw {
	t.Helper()
	c, err := net.Dial("unix", srv.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return &raw{t, c, bufio.NewReader(c)}
}

func (r *raw) send(line string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(line + "\n")); err != nil {
		r.t.Fatal(err)
	}
}

func (r *raw) recv() string {
	r.t.Helper()
	line, err := r.r.ReadString('\n')
	if err != nil {
		r.t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// TestWireProtocol checks the server's bytes against what QEMU 7.2 sends.
func TestWireProtocol(t *testing.T) {
	srv := qmptest.New(t)
	c := dialRaw(t, srv)
	for _, step := range []struct{ send, want string }{
		{"", `{"QMP":{"capabilities":["oob"],"version":{"package":"qmptest","qemu":{"major":7,"micro":22,"minor":2}}}}`},
		{`{"execute":"query-status","id":1}`,
			`{"error":{"class":"CommandNotFound","desc":"Expecting capabilities negotiation with 'qmp_capabilities'"},"id":1}`},
		{`{"execute":"qmp_capabilities"}`, `{"return":{}}`},
		{`{"execute":"qmp_capabilities","id":"again"}`,
			`{"error":{"class":"CommandNotFound","desc":"Capabilities negotiation is already complete, command ignored"},"id":"again"}`},
		{`{"execute":"query-status","id":{"any":"json"}}`,
			`{"return":{"running":false,"singlestep":false,"status":"prelaunch"},"id":{"any":"json"}}`},
		{`{"execute":"x-nope","id":2}`,
			`{"error":{"class":"CommandNotFound","desc":"The command x-nope has not been found"},"id":2}`},
	} {
		if step.send != "" {
			c.send(step.send)
		}
		if got := c.recv(); got != step.want {
			t.Errorf("after %s:\n got %s\nwant %s", step.send, got, step.want)
		}
	}
}

func TestEmitFormat(t *testing.T) {
	srv := qmptest.New(t)
	c := dialRaw(t, srv)
	c.recv()
	srv.Emit("BEFORE_NEGOTIATION", nil) // QEMU sends no events before qmp_capabilities
	c.send(`{"execute":"qmp_capabilities"}`)
	c.recv()
	srv.Emit(qmp.EventShutdown, map[string]any{"guest": true})
	var got struct {
		Event     string
		Data      map[string]any
		Timestamp struct{ Seconds, Microseconds int64 }
	}
	line := c.recv()
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatal(err)
	}
	if got.Event != qmp.EventShutdown || got.Data["guest"] != true || got.Timestamp.Seconds == 0 {
		t.Errorf("event = %s", line)
	}
}

func TestHangHoldsTheGreeting(t *testing.T) {
	srv := qmptest.New(t)
	srv.Hang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := qmp.Dial(ctx, srv.Path()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial while hanging = %v, want DeadlineExceeded", err)
	}
	c := dialRaw(t, srv) // connected during the hang: greeted once it ends
	c.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if line, err := c.r.ReadString('\n'); err == nil {
		t.Fatalf("got %s while hanging", line)
	}
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	srv.Hang(false)
	if got := c.recv(); !strings.HasPrefix(got, `{"QMP":`) {
		t.Errorf("after Hang(false) got %s, want the greeting", got)
	}
}

func TestHangLeavesCommandsUnanswered(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	srv.Hang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := m.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop while hanging = %v, want DeadlineExceeded", err)
	}
	if diff := cmp.Diff([]string{"qmp_capabilities", "stop"}, srv.Commands()); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if got := srv.Status(); got != "prelaunch" {
		t.Errorf("status = %q: a hung server ran the command", got)
	}
}

func TestWaitCommand(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.WaitCommand(ctx, "stop"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitCommand before stop = %v, want DeadlineExceeded", err)
	}
	go m.Stop(context.Background())
	if err := srv.WaitCommand(testContext(t), "stop"); err != nil {
		t.Error(err)
	}
	if err := srv.WaitCommand(testContext(t), "qmp_capabilities"); err != nil {
		t.Errorf("WaitCommand for a command received earlier = %v", err)
	}
}

// TestExit: quit, or a powerdown the guest obeys, ends the fake QEMU like the real process.
func TestExit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		obey     bool
		run      func(*qmp.Monitor, context.Context) error
		want     []string
		wantData qmp.ShutdownData
	}{
		{"quit", false, (*qmp.Monitor).Quit, []string{qmp.EventShutdown},
			qmp.ShutdownData{Guest: false, Reason: "host-qmp-quit"}},
		{"powerdown obeyed", true, (*qmp.Monitor).SystemPowerdown, []string{qmp.EventPowerdown, qmp.EventShutdown},
			qmp.ShutdownData{Guest: true, Reason: "guest-shutdown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := qmptest.New(t)
			srv.PowerdownShutsDown(tc.obey)
			m := dial(t, srv)
			if err := tc.run(m, testContext(t)); err != nil {
				t.Fatal(err)
			}
			var got []string
			var data qmp.ShutdownData
			for e := range m.Events() {
				got = append(got, e.Name)
				if e.Name == qmp.EventShutdown {
					data, _ = qmp.ParseShutdown(e)
				}
			}
			if diff := cmp.Diff(append(tc.want, qmp.EventDisconnected), got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if data != tc.wantData {
				t.Errorf("SHUTDOWN data = %+v, want %+v", data, tc.wantData)
			}
			select {
			case <-srv.Exited():
			case <-time.After(5 * time.Second):
				t.Fatal("Exited() not closed")
			}
			if _, err := os.Stat(srv.Path()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket still there after exit: %v", err)
			}
			if got := srv.Status(); got != "shutdown" {
				t.Errorf("status = %q, want shutdown", got)
			}
		})
	}
}

func TestPowerdownIgnoredByDefault(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	if err := m.SystemPowerdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.QueryStatus(testContext(t)); err != nil {
		t.Errorf("QueryStatus after an ignored powerdown = %v", err)
	}
	select {
	case <-srv.Exited():
		t.Error("the guest obeyed a powerdown it should ignore")
	default:
	}
}

func TestDisconnectKeepsListening(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	srv.Disconnect()
	<-m.Done()
	m2 := dial(t, srv)
	if err := m2.Cont(testContext(t)); err != nil {
		t.Errorf("Cont on a new connection = %v", err)
	}
	if got := srv.Status(); got != "running" {
		t.Errorf("status = %q, want running: the VM outlives the connection", got)
	}
}

func TestHandleOverridesDefault(t *testing.T) {
	srv := qmptest.New(t)
	srv.Handle("cont", func(json.RawMessage) (any, *qmptest.Error) {
		return nil, &qmptest.Error{Class: "GenericError", Desc: "migration is in progress"}
	})
	m := dial(t, srv)
	var qe *qmp.Error
	if err := m.Cont(testContext(t)); !errors.As(err, &qe) || qe.Desc != "migration is in progress" {
		t.Errorf("Cont = %v, want the scripted error", err)
	}
	if got := srv.Status(); got != "prelaunch" {
		t.Errorf("status = %q: the default cont ran", got)
	}
}
