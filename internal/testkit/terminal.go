package testkit

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Terminal is a pseudo-terminal to drive an interactive command through, as a user at a terminal
// would: the command gets TTY as its terminal, the test types and reads on PTM.
type Terminal struct {
	PTM, TTY *os.File
	t        testing.TB
	before   unix.Termios // TTY's settings when opened
}

// OpenTerminal opens a pseudo-terminal and records its settings for [Terminal.Restored];
// t.Cleanup closes both ends.
func OpenTerminal(t testing.TB) *Terminal {
	t.Helper()
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptm.Close(); tty.Close() })
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("terminal settings: %v", err)
	}
	return &Terminal{PTM: ptm, TTY: tty, t: t, before: *before}
}

// Start runs cmd with the terminal as its controlling terminal, stdin, stdout and stderr;
// t.Cleanup kills it if it is still running.
func (term *Terminal) Start(cmd *exec.Cmd) {
	term.t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term.TTY, term.TTY, term.TTY
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		term.t.Fatalf("start %s on a terminal: %v", cmd.Path, err)
	}
	term.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// Type writes s as keys typed on the terminal.
func (term *Terminal) Type(s string) {
	term.t.Helper()
	if _, err := io.WriteString(term.PTM, s); err != nil {
		term.t.Fatalf("type %q on the terminal: %v", s, err)
	}
}

// ReadUntil reads what the terminal shows until it ends with s, within limit, and returns it.
func (term *Terminal) ReadUntil(s string, limit time.Duration) (string, error) {
	return ReadUntil(term.PTM, s, limit)
}

// Restored returns an error unless the terminal's settings are back to those it had when opened
// (a raw mode left behind).
func (term *Terminal) Restored() error {
	after, err := unix.IoctlGetTermios(int(term.TTY.Fd()), unix.TCGETS)
	if err != nil {
		return fmt.Errorf("terminal settings: %w", err)
	}
	if *after != term.before {
		return fmt.Errorf("terminal not restored:\n got %+v\nwant %+v", *after, term.before)
	}
	return nil
}

// DeadlineReader is a stream with a read deadline: a connection, a pseudo-terminal's master.
type DeadlineReader interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// ReadUntil reads r until what it read ends with s, within limit, and returns what it read. It
// reads byte by byte: nothing after s is consumed.
func ReadUntil(r DeadlineReader, s string, limit time.Duration) (string, error) {
	if err := r.SetReadDeadline(time.Now().Add(limit)); err != nil {
		return "", err
	}
	defer r.SetReadDeadline(time.Time{})
	var b strings.Builder
	one := make([]byte, 1)
	for !strings.HasSuffix(b.String(), s) {
		if _, err := io.ReadFull(r, one); err != nil {
			got := b.String()
			return got, fmt.Errorf("%w after %q", err, got[max(0, len(got)-300):])
		}
		b.WriteByte(one[0])
	}
	return b.String(), nil
}
