package compute

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/qemu"
)

func TestSerialViewerTooFarBehindIsDroppedWhileOthersKeepReceiving(t *testing.T) {
	h := newSerialHub(4)
	slow, _ := h.join("vm", SerialView)
	fast, _ := h.join("vm", SerialView)
	ctx := context.Background()
	chunk := bytes.Repeat([]byte("x"), serialChunk)
	for i := range viewerBuffer/serialChunk + 1 { // one more than the slow viewer's buffer holds; broadcast never waits
		h.broadcast(chunk)
		if p, err := fast.Next(ctx); err != nil || len(p) != len(chunk) {
			t.Fatalf("fast viewer: chunk %d = %d bytes, %v", i, len(p), err)
		}
	}
	if p, err := slow.Next(ctx); err != nil || len(p) != viewerBuffer {
		t.Fatalf("slow viewer: %d bytes, %v; want what it had buffered, %d bytes", len(p), err, viewerBuffer)
	}
	if _, err := slow.Next(ctx); !errors.Is(err, ErrSerialTooSlow) {
		t.Fatalf("slow viewer: got %v, want %v", err, ErrSerialTooSlow)
	}
}

// An echoed command line reaches the hub a byte or a few at a time: a viewer that reads only after it
// has typed the whole line is not dropped for the number of pieces, only for the bytes it leaves unread.
func TestAViewerIsBoundedByBytesNotByHowQEMUSplitTheOutput(t *testing.T) {
	h := newSerialHub(4)
	v, _ := h.join("vm", SerialKeyboard)
	line := strings.Repeat("mount -t iso9660 -o ro /dev/vdb /mnt/cd; ", 100)
	for i := range len(line) {
		h.broadcast([]byte{line[i]})
	}
	p, err := v.Next(context.Background())
	if err != nil || string(p) != line {
		t.Fatalf("after %d one-byte reads: %d bytes, %v; want the whole line in one read", len(line), len(p), err)
	}
}

func TestTheFirstViewerNotAskingForViewHoldsTheKeyboardAlone(t *testing.T) {
	h := newSerialHub(4)
	viewer, _ := h.join("vm", SerialView)
	first, _ := h.join("vm", SerialAuto)
	second, _ := h.join("vm", SerialAuto)
	if viewer.Keyboard() || !first.Keyboard() || second.Keyboard() {
		t.Fatalf("keyboards: view %v, first %v, second %v; want false, true, false", viewer.Keyboard(), first.Keyboard(), second.Keyboard())
	}
	if _, err := h.join("vm", SerialKeyboard); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("asking for a held keyboard: got %v, want a conflict", err)
	}
	if err := second.Write(context.Background(), []byte("x")); !errors.Is(err, ErrSerialViewOnly) {
		t.Fatalf("a view-only viewer typed: got %v, want %v", err, ErrSerialViewOnly)
	}
	first.Close()
	next, err := h.join("vm", SerialKeyboard)
	if err != nil || !next.Keyboard() {
		t.Fatalf("after the holder left: %v, keyboard %v", err, next != nil && next.Keyboard())
	}
}

func TestSerialViewersBeyondTheLimitAreRefusedAsTooMany(t *testing.T) {
	h := newSerialHub(2)
	h.join("vm", SerialView)
	h.join("vm", SerialView)
	if _, err := h.join("vm", SerialView); fault.KindOf(err) != fault.TooManyRequests {
		t.Fatalf("third viewer of two: got %v, want too many requests", err)
	}
}

func TestAPasteIsPassedInBoundedPiecesAndWaitsForQEMU(t *testing.T) {
	h := newSerialHub(1)
	v, _ := h.join("vm", SerialKeyboard)
	paste := bytes.Repeat([]byte("a"), 8<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// Nobody drains the input: the write fills the bounded queue and then waits, until ctx ends.
	if err := v.Write(ctx, paste); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write with QEMU not reading: got %v, want the deadline", err)
	}
	if len(h.input) != inputQueue {
		t.Fatalf("queued pieces: got %d, want %d", len(h.input), inputQueue)
	}
	for range inputQueue {
		if p := <-h.input; len(p) != inputChunk {
			t.Fatalf("piece of %d bytes, want %d", len(p), inputChunk)
		}
	}
}

func TestViewersOfAnEndedConsoleGetTheReason(t *testing.T) {
	h := newSerialHub(2)
	v, _ := h.join("vm", SerialAuto)
	h.broadcast([]byte("bye"))
	h.end()
	if p, err := v.Next(context.Background()); err != nil || string(p) != "bye" {
		t.Fatalf("buffered output after the end: %q, %v", p, err)
	}
	if _, err := v.Next(context.Background()); !errors.Is(err, ErrSerialEnded) {
		t.Fatalf("got %v, want %v", err, ErrSerialEnded)
	}
	if _, err := h.join("vm", SerialView); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("joining an ended console: got %v, want a conflict", err)
	}
}

// The daemon is the one client of QEMU's console socket: what the guest prints reaches every viewer,
// what the keyboard holder types reaches QEMU, and QEMU's end ends the viewers; stopping leaves no
// goroutine behind.
func TestTheDaemonIsTheConsoleSocketsClientFanningOutOutputAndPassingInput(t *testing.T) {
	s, sv, ln := consoleFixture(t, nil, nil)
	sv.startSerial()
	qemu, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := s.serials.get("i1")
	typist, _ := c.hub.join("vm", SerialAuto)
	watcher, _ := c.hub.join("vm", SerialView)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	qemu.Write([]byte("login: "))
	for _, v := range []*SerialViewer{typist, watcher} {
		var got []byte
		for len(got) < len("login: ") {
			p, err := v.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p...)
		}
		if string(got) != "login: " {
			t.Errorf("viewer got %q", got)
		}
	}
	if err := typist.Write(ctx, []byte("root\r")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(qemu, buf); err != nil || string(buf) != "root\r" {
		t.Fatalf("QEMU read %q, %v", buf, err)
	}
	qemu.Close() // QEMU ended
	if _, err := watcher.Next(ctx); !errors.Is(err, ErrSerialEnded) {
		t.Fatalf("after QEMU's end: %v, want %v", err, ErrSerialEnded)
	}
	sv.stopSerial()
	s.wg.Wait() // every goroutine the console started has returned
}

// pidOnly is a process known only by its pid.
type pidOnly struct {
	process
	pid int
}

func (p pidOnly) PID() int { return p.pid }

// Once QEMU has accepted the console connection (its first bytes arrive), the daemon widens QEMU's
// send buffer, so QEMU's one-byte writes do not block — and QEMU 7.2 does not log a held byte twice —
// until the reader is thousands of bytes behind (qemu.ConsoleSendBuffer). The "QEMU" here is this
// process's own end of the connection.
func TestTheDaemonWidensQEMUsEndOfTheConsoleConnection(t *testing.T) {
	s, sv, ln := consoleFixture(t, realHypervisor{}, pidOnly{pid: os.Getpid()})
	sv.startSerial()
	defer func() { sv.stopSerial(); s.wg.Wait() }()
	qemuEnd, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer qemuEnd.Close()
	viewer, _ := s.serials.get("i1").hub.join("vm", SerialView)
	qemuEnd.Write([]byte("x"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := viewer.Next(ctx); err != nil { // broadcast after the widening
		t.Fatal(err)
	}
	if got, err := qemu.ConsoleBuffer(os.Getpid(), sv.paths().Console); err != nil || got < qemu.ConsoleSendBuffer {
		t.Errorf("QEMU's end of the console connection has a send buffer of %d (%v), want at least %d", got, err, qemu.ConsoleSendBuffer)
	}
}

// consoleFixture is a compute service with instance i1's supervisor (QEMU process proc, hypervisor hv;
// either may be nil) and, in QEMU's place, a listener at the instance's console socket; cleanup
// closes the listener and removes the run dir.
func consoleFixture(t *testing.T, hv hypervisor, proc process) (*Service, *supervisor, net.Listener) {
	t.Helper()
	run, err := os.MkdirTemp("", "cs") // unix socket paths must stay short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	s := &Service{log: slog.New(slog.NewTextHandler(io.Discard, nil)), hv: hv,
		o: Options{RunDir: run, StateDir: t.TempDir(), ConsoleLogMaxBytes: DefaultConsoleLogMaxBytes, SerialViewers: 4}}
	sv := &supervisor{s: s, id: "i1", proc: proc}
	os.MkdirAll(filepath.Dir(sv.paths().Console), 0o700)
	ln, err := net.Listen("unix", sv.paths().Console)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return s, sv, ln
}
