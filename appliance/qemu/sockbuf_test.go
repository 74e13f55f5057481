package qemu

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWidenConsoleBufferReachesTheAcceptedEndOnly: of a process's sockets, only the one its
// listener at the path accepted gets the wider send buffer — not the listener, not the client end —
// and a path nobody is connected at is an error.
func TestWidenConsoleBufferReachesTheAcceptedEndOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := WidenConsoleBuffer(os.Getpid(), path, ConsoleSendBuffer); err == nil {
		t.Fatal("widening with nobody connected succeeded")
	}
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	accepted, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	clientBefore := sndbuf(t, client)

	if err := WidenConsoleBuffer(os.Getpid(), path, ConsoleSendBuffer); err != nil {
		t.Fatal(err)
	}
	if got := sndbuf(t, accepted); got < ConsoleSendBuffer {
		t.Errorf("the accepted end's send buffer is %d, want at least %d", got, ConsoleSendBuffer)
	}
	if got, err := ConsoleBuffer(os.Getpid(), path); err != nil || got < ConsoleSendBuffer {
		t.Errorf("ConsoleBuffer = %d, %v; want at least %d", got, err, ConsoleSendBuffer)
	}
	if got := sndbuf(t, client); got != clientBefore {
		t.Errorf("the client end's send buffer changed from %d to %d", clientBefore, got)
	}
}

func sndbuf(t *testing.T, c net.Conn) int {
	t.Helper()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		size, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return size
}
