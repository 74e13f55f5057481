package qmp

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// write sends one command line, with f's descriptor attached when f is not nil, and returns how
// many bytes went out. A ctx that expires during the write interrupts it (QEMU may have stopped
// reading its socket).
func (m *Monitor) write(ctx context.Context, b []byte, f *os.File) (int, error) {
	b = append(b, '\n')
	m.transcript.add("->", b[:len(b)-1])
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		m.conn.SetWriteDeadline(time.Unix(1, 0))
	})
	defer func() {
		if !stop() { // the deadline was set: clear it for the next command
			<-interrupted
			m.conn.SetWriteDeadline(time.Time{})
		}
	}()
	if f == nil {
		return m.conn.Write(b)
	}
	return m.writeWithFile(b, f)
}

// writeWithFile sends b with f's descriptor in the first sendmsg; whatever a short write leaves
// follows as plain bytes.
func (m *Monitor) writeWithFile(b []byte, f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("file %s: %w", f.Name(), err)
	}
	var n int
	var werr error
	err = rc.Control(func(fd uintptr) {
		n, _, werr = m.conn.WriteMsgUnix(b, unix.UnixRights(int(fd)), nil)
	})
	if err != nil {
		return 0, fmt.Errorf("file %s: %w", f.Name(), err)
	}
	if werr != nil {
		return max(n, 0), werr
	}
	rest, err := m.conn.Write(b[n:])
	return n + rest, err
}
