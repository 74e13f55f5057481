package testguest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The command channel on the guest's serial console (see init.sh): a test writes one command line, the guest
// answers with the command's output and exit code.
const (
	CommandRun = "CLOUDLET-RUN"       // <id> <shell command>: written by the test
	MarkerOut  = "CLOUDLET-GUEST-OUT" // <id> <line>: one line of the command's stdout and stderr
	MarkerRan  = "CLOUDLET-GUEST-RAN" // <id> rc=<exit code>: the command finished

	// MaxCommandLine is the longest command line Run writes, newline included: the guest's tty keeps at
	// most 4096 bytes of a line.
	MaxCommandLine = 4096
)

var commandIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Result is what a command run on the guest printed and how it ended.
type Result struct {
	Output []string // its stdout and stderr, interleaved as written, one entry a line, without line ends
	RC     int      // its exit code; 143 (TERM) or 137 (KILL) when the guest's 60 s timeout stopped it
}

// Run runs command with sh -c on the guest behind conn, its serial console, and returns its output and exit
// code. It writes "CLOUDLET-RUN <id> <command>" and reads until "CLOUDLET-GUEST-RAN <id> rc=<n>", keeping
// the "CLOUDLET-GUEST-OUT <id> " lines and skipping every other line (other markers, kernel messages, the
// answers to an earlier command that timed out here): use a fresh id for every command. Only markers at the
// start of a line count. The guest runs one command at a time and stops it after 60 s.
//
// id must match [A-Za-z0-9_-]{1,32}; command must be non-empty, fit MaxCommandLine and hold no control
// character but tab (the guest's tty would act on it). Both are checked before anything is written.
//
// Run reads conn one byte at a time, unless conn is an io.ByteReader, so it never consumes console output
// past the ran marker; when conn has Flush (a *bufio.ReadWriter), Run flushes it after writing. When conn
// has SetDeadline (a net.Conn), ctx ending sets a deadline in the past to end pending I/O, and Run clears
// conn's deadline before it returns: conn stays usable and no goroutine is left behind. Otherwise the I/O
// runs in a goroutine that may still be pending on conn when ctx ends: close conn to end it, and do not
// reuse conn.
func Run(ctx context.Context, conn io.ReadWriter, id, command string) (Result, error) {
	line, err := commandLine(id, command)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("run command %s on the guest: %w", id, context.Cause(ctx))
	}
	var res Result
	if d, ok := conn.(deadliner); ok {
		res, err = exchangeWithDeadline(ctx, conn, d, id, line)
	} else {
		res, err = exchangeInBackground(ctx, conn, id, line)
	}
	if err != nil {
		return Result{}, fmt.Errorf("run command %s on the guest: %w", id, err)
	}
	return res, nil
}

// ParseRan parses a console line "CLOUDLET-GUEST-RAN <id> rc=<exit code>" (a trailing "\r" or "\n" is
// ignored). The marker must start the line.
func ParseRan(line string) (id string, rc int, err error) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), MarkerRan+" ")
	if !ok {
		return "", 0, fmt.Errorf("parse ran marker %q: does not start with %s", line, MarkerRan)
	}
	id, code, ok := strings.Cut(rest, " ")
	if !ok || !commandIDRE.MatchString(id) {
		return "", 0, fmt.Errorf("parse ran marker %q: bad command id", line)
	}
	digits, ok := strings.CutPrefix(code, "rc=")
	if !ok {
		return "", 0, fmt.Errorf("parse ran marker %q: no rc=", line)
	}
	rc, err = strconv.Atoi(digits)
	if err != nil || rc < 0 {
		return "", 0, fmt.Errorf("parse ran marker %q: rc %q is not an exit code", line, digits)
	}
	return id, rc, nil
}

// commandLine checks id and command and returns the line that asks the guest to run them.
func commandLine(id, command string) (string, error) {
	if !commandIDRE.MatchString(id) {
		return "", fmt.Errorf("run command %q on the guest: id must match %s", id, commandIDRE)
	}
	if command == "" {
		return "", fmt.Errorf("run command %s on the guest: empty command", id)
	}
	if i := strings.IndexFunc(command, isControl); i >= 0 {
		return "", fmt.Errorf("run command %s on the guest: control character %q at byte %d", id, command[i], i)
	}
	line := CommandRun + " " + id + " " + command + "\n"
	if len(line) > MaxCommandLine {
		return "", fmt.Errorf("run command %s on the guest: line of %d bytes, the guest reads at most %d", id, len(line), MaxCommandLine)
	}
	return line, nil
}

// isControl reports the characters the guest's tty would not pass on as they are: newlines end the line,
// others erase, signal or end input.
func isControl(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f
}

type deadliner interface {
	SetDeadline(time.Time) error
}

// exchangeWithDeadline runs exchange on conn, ending its I/O with a past deadline when ctx ends.
func exchangeWithDeadline(ctx context.Context, conn io.ReadWriter, d deadliner, id, line string) (Result, error) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		d.SetDeadline(time.Unix(1, 0))
	})
	res, err := exchange(conn, id, line)
	if !stop() {
		<-fired
	}
	d.SetDeadline(time.Time{}) // fails only on a closed conn, which is of no more use anyway
	if err != nil && ctx.Err() != nil {
		return Result{}, context.Cause(ctx)
	}
	return res, err
}

// exchangeInBackground runs exchange in a goroutine and gives up on it when ctx ends.
func exchangeInBackground(ctx context.Context, conn io.ReadWriter, id, line string) (Result, error) {
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := exchange(conn, id, line)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
		return Result{}, context.Cause(ctx)
	}
}

// exchange writes line and collects the answer to command id.
func exchange(conn io.ReadWriter, id, line string) (Result, error) {
	if err := writeLine(conn, line); err != nil {
		return Result{}, err
	}
	br, ok := conn.(io.ByteReader)
	if !ok {
		br = &byteReader{r: conn}
	}
	outPrefix := MarkerOut + " " + id + " "
	var res Result
	for {
		l, err := readLine(br)
		if err != nil {
			return Result{}, fmt.Errorf("read console after %d output lines: %w", len(res.Output), err)
		}
		if out, ok := strings.CutPrefix(l, outPrefix); ok {
			res.Output = append(res.Output, out)
			continue
		}
		if ranID, rc, err := ParseRan(l); err == nil && ranID == id {
			res.RC = rc
			return res, nil
		}
	}
}

// writeLine writes line to conn and flushes conn if it buffers.
func writeLine(conn io.Writer, line string) error {
	if _, err := io.WriteString(conn, line); err != nil {
		return fmt.Errorf("write command line: %w", err)
	}
	if f, ok := conn.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("flush command line: %w", err)
		}
	}
	return nil
}

// readLine reads up to and including the next "\n" and returns the line without its line end. End of file
// before it is io.ErrUnexpectedEOF.
func readLine(br io.ByteReader) (string, error) {
	var b strings.Builder
	for {
		c, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if c == '\n' {
			return strings.TrimRight(b.String(), "\r"), nil
		}
		b.WriteByte(c)
	}
}

// byteReader reads an io.Reader one byte per Read, so nothing past what is asked for is consumed.
type byteReader struct {
	r   io.Reader
	buf [1]byte
}

func (b *byteReader) ReadByte() (byte, error) {
	for {
		n, err := b.r.Read(b.buf[:])
		if n == 1 {
			return b.buf[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}
