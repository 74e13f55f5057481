package qga

import (
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"cloudlet/appliance/qemu/qga/qgatest"
)

// fileAgent is an honest agent with one file, /f, read at most chunk bytes at a time.
func fileAgent(t *testing.T, content string, chunk int) *qgatest.Agent {
	a := qgatest.New(t)
	a.SetFile("/f", content)
	a.SetMaxRead(chunk)
	return a
}

func TestReadFileReadsAGuestFileInPiecesAndClosesIt(t *testing.T) {
	content := strings.Repeat("0123456789", 1000)
	a := fileAgent(t, content, 1000)
	got, err := dial(t, a.Path()).ReadFile("/f", 64<<10)
	if err != nil || string(got) != content {
		t.Errorf("read %d bytes, %v; want the 10000 bytes of the file", len(got), err)
	}
	if n := a.OpenHandles(); n != 0 {
		t.Errorf("%d handles left open", n)
	}
	if reads := strings.Count(strings.Join(a.Commands(), " "), "guest-file-read"); reads != 10 {
		t.Errorf("%d reads, want the file in 10 pieces", reads)
	}
}

func TestReadFileOfAMissingFileIsNoSuchFile(t *testing.T) {
	_, err := dial(t, qgatest.New(t).Path()).ReadFile("/g", 100)
	if !NoSuchFile(err) {
		t.Errorf("read a missing file: %v, want NoSuchFile", err)
	}
}

func TestReadFileOverTheCapFailsAndClosesTheHandle(t *testing.T) {
	a := fileAgent(t, strings.Repeat("x", 5000), 4096)
	_, err := dial(t, a.Path()).ReadFile("/f", 4999)
	if !errors.Is(err, ErrFileTooLarge) || a.OpenHandles() != 0 {
		t.Errorf("read %v with %d handles open, want ErrFileTooLarge and none open", err, a.OpenHandles())
	}
}

func TestAGarbledReadIsResynchronisedAndTheHandleClosed(t *testing.T) {
	a := fileAgent(t, "hello", 4096)
	var garbled atomic.Bool
	a.Handle("guest-file-read", func(r qgatest.Request, w io.Writer) { // the first read only
		if garbled.CompareAndSwap(false, true) {
			qgatest.Garbage(r, w)
			return
		}
		a.Default(r, w)
	})
	c := dial(t, a.Path())
	if _, err := c.ReadFile("/f", 100); !errors.Is(err, ErrMalformed) || a.OpenHandles() != 0 {
		t.Errorf("read %v with %d handles open, want ErrMalformed and none open", err, a.OpenHandles())
	}
	if got, err := c.ReadFile("/f", 100); err != nil || string(got) != "hello" {
		t.Errorf("the next read: %q, %v; want the connection still in step", got, err)
	}
}

func TestABlockedFileCommandIsNotNoSuchFile(t *testing.T) {
	a := qgatest.New(t)
	a.Handle("guest-file-open", qgatest.Blocked)
	_, err := dial(t, a.Path()).ReadFile("/f", 100)
	var e *Error
	if !errors.As(err, &e) || e.Class != "CommandNotFound" || NoSuchFile(err) {
		t.Errorf("read with guest-file-* blocked: %v, want a CommandNotFound *Error that is not NoSuchFile", err)
	}
}
