package compute

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloudlet/appliance/qemu"
)

// fakeReadyChannel stands in for QEMU's org.cloudlet.ready chardev: a listener on the instance's ready
// socket handing each connection the daemon makes to the test (the guest's end of the port).
func fakeReadyChannel(t *testing.T, e *env) <-chan net.Conn {
	t.Helper()
	conns := make(chan net.Conn, 4)
	e.hv.onStart = func(_ *fakeProc, spec qemu.Spec) {
		l, err := net.Listen("unix", spec.Paths.Ready)
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { conn.Close() })
				conns <- conn
			}
		}()
	}
	return conns
}

func nextConn(t *testing.T, conns <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon never connected to the ready port")
		return nil
	}
}

// sayReady writes lines as the guest and waits for the daemon's OK.
func sayReady(t *testing.T, guest net.Conn, lines string) {
	t.Helper()
	if _, err := io.WriteString(guest, lines); err != nil {
		t.Fatal(err)
	}
	guest.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, err := bufio.NewReader(guest).ReadString('\n')
	if err != nil || reply != readyReply {
		t.Fatalf("answer to READY: %q, %v; want %q", reply, err, readyReply)
	}
}

// A guest that writes garbage and then READY on its org.cloudlet.ready port is marked ready via
// virtio-serial, once, and told OK.
func TestReadyPortMarksItsOwnInstanceReadyViaVirtioSerial(t *testing.T) {
	e := newEnv(t, nil)
	conns := fakeReadyChannel(t, e)
	inst := e.running("web")
	guest := nextConn(t, conns)
	other := e.running("other")
	nextConn(t, conns) // other's port: it never writes

	sayReady(t, guest, "hello\n"+strings.Repeat("x", 200)+"READY\n  READY \r\n")
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if got.ReadyAt == nil || got.ReadyVia != ReadyViaSerial || countStages(got, StageGuestReady) != 1 {
		t.Errorf("after READY: ready at %v via %q, %d guest_ready stages; want set, %q, 1",
			got.ReadyAt, got.ReadyVia, countStages(got, StageGuestReady), ReadyViaSerial)
	}
	if o := e.waitFor(other.ID, VMActive, PowerRunning); o.ReadyAt != nil {
		t.Errorf("another instance's READY made %s ready via %q", o.Name, o.ReadyVia)
	}
}

// After a daemon restart the reattached instance's port is read again.
func TestReadyPortIsReadAgainAfterADaemonRestart(t *testing.T) {
	e := newEnv(t, nil)
	conns := fakeReadyChannel(t, e)
	inst := e.running("web")
	first := nextConn(t, conns)
	e.svc.Close()
	if _, err := first.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("the stopped daemon's end of the port: read %v, want EOF", err)
	}
	e.start()
	sayReady(t, nextConn(t, conns), "READY\n")
	if got := e.waitFor(inst.ID, VMActive, PowerRunning); got.ReadyVia != ReadyViaSerial {
		t.Errorf("after the restart: ready via %q, want %q", got.ReadyVia, ReadyViaSerial)
	}
}

// A guest that never writes costs nothing at delete: the daemon hangs up and the socket is gone.
func TestReadyPortOfASilentGuestIsClosedAtDelete(t *testing.T) {
	e := newEnv(t, nil)
	conns := fakeReadyChannel(t, e)
	inst := e.running("web")
	guest := nextConn(t, conns)
	e.act(inst.ID, ActDelete)
	guest.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := guest.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after delete: read %v, want EOF (the daemon hung up)", err)
	}
	waitGone(t, e, inst.ID)
	if _, err := os.Stat(e.svc.paths(inst.ID).Ready); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ready socket after delete: %v, want it removed", err)
	}
}

// readReadyLines hands over whole lines, trimmed, and drops lines over readyLineMax whole.
func TestReadReadyLinesDropsOverlongLines(t *testing.T) {
	host, guest := net.Pipe()
	go func() {
		io.WriteString(guest, strings.Repeat("y", readyLineMax+1)+"READY\n READY\r\nREADY now\n"+strings.Repeat("z", readyLineMax)+"\n")
		guest.Close()
	}()
	var got []string
	readReadyLines(context.Background(), host, readyBytesPerSecond, func(l []byte) { got = append(got, string(l)) })
	want := []string{"READY", "READY now", strings.Repeat("z", readyLineMax)}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

// floodConn is a guest that writes forever.
type floodConn struct {
	net.Conn
	read atomic.Int64
}

func (f *floodConn) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	f.read.Add(int64(len(p)))
	return len(p), nil
}

// A guest that floods its port is read at the port's rate, and its reader ends with its context.
func TestReadReadyLinesReadsAFloodAtItsRateOnly(t *testing.T) {
	const rate = 1000
	f := &floodConn{}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	readReadyLines(ctx, f, rate, func([]byte) { t.Error("a flood without newlines gave a line") })
	elapsed := time.Since(start)
	if limit := rate * (int64(elapsed/time.Second) + 1); f.read.Load() > limit {
		t.Errorf("read %d bytes in %v, want at most %d", f.read.Load(), elapsed, limit)
	}
	if elapsed > 5*time.Second {
		t.Errorf("the reader ended %v after its context", elapsed)
	}
}
