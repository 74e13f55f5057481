package qemu

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ConsoleSendBuffer is the send buffer cloudlet gives QEMU's end of the serial console connection.
//
// QEMU's serial port writes the guest's output to its console socket a byte at a time, and Linux
// charges each one-byte write about 768 bytes of the sender's buffer: with the default 208 KiB,
// QEMU's write would block once the reader is about 280 bytes behind. QEMU 7.2 then writes that byte
// to console.log, holds it, and writes it (and logs it) again once the socket drains: the log
// shows it twice, and the guest's console stalls meanwhile. 8 MiB (the kernel doubles it) lets the
// daemon's reader fall about 21,000 bytes behind first; the memory is used only while it does.
const ConsoleSendBuffer = 8 << 20

// WidenConsoleBuffer sets the send buffer of QEMU's end of the connection to its console socket:
// the socket of process pid bound at path that is not the listener. It needs CAP_SYS_PTRACE over pid
// (to take a copy of the descriptor) and CAP_NET_ADMIN (to go past net.core.wmem_max).
func WidenConsoleBuffer(pid int, path string, size int) error {
	n := 0
	err := forConnectedAt(pid, path, func(fd int) error {
		n++
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size)
	})
	if err == nil && n == 0 {
		err = errors.New("no connection at that path")
	}
	if err != nil {
		return fmt.Errorf("widen the send buffer of process %d's connection at %s: %w", pid, path, err)
	}
	return nil
}

// ConsoleBuffer returns the send buffer of QEMU's end of the connection to its console socket.
func ConsoleBuffer(pid int, path string) (int, error) {
	size := -1
	err := forConnectedAt(pid, path, func(fd int) error {
		var err error
		size, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		return err
	})
	if err == nil && size < 0 {
		err = errors.New("no connection at that path")
	}
	if err != nil {
		return 0, fmt.Errorf("read the send buffer of process %d's connection at %s: %w", pid, path, err)
	}
	return size, nil
}

// forConnectedAt calls fn with a copy of each of pid's sockets bound at path that accepted a
// connection (not the listener), taken with pidfd_getfd.
func forConnectedAt(pid int, path string, fn func(fd int) error) error {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open: %w", err)
	}
	defer unix.Close(pidfd)
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if target, err := os.Readlink(dir + "/" + e.Name()); err != nil || !strings.HasPrefix(target, "socket:[") {
			continue
		}
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		if err != nil {
			continue // closed meanwhile
		}
		if connectedAt(fd, path) {
			err = fn(fd)
		}
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

// connectedAt reports whether fd is a unix socket bound at path that is not listening: QEMU's end of
// a connection its listener at path accepted (an accepted socket carries the listener's address).
func connectedAt(fd int, path string) bool {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	if ua, ok := sa.(*unix.SockaddrUnix); !ok || ua.Name != path {
		return false
	}
	listening, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	return err == nil && listening == 0
}
