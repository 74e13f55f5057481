package qga

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// fileAgent is an honest agent with one file, /f, read at most chunk bytes at a time; it counts the
// handles left open. garbleRead makes its first guest-file-read answer garbage.
type fileAgent struct {
	mu         sync.Mutex
	content    string
	chunk      int
	garbleRead bool
	open       map[int64]int // handle → offset
}

func (f *fileAgent) answer(r req, w io.Writer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Execute {
	case "guest-sync-delimited":
		fmt.Fprintf(w, "\xff{\"return\": %d}\n", r.Arguments.ID)
	case "guest-file-open":
		if r.Arguments.Path != "/f" {
			io.WriteString(w, `{"error": {"class": "GenericError", "desc": "failed to open file '/g' (mode: 'r'): No such file or directory"}}`+"\n")
			return
		}
		f.open[7] = 0
		io.WriteString(w, `{"return": 7}`+"\n")
	case "guest-file-read":
		if f.garbleRead {
			f.garbleRead = false
			io.WriteString(w, "}{ not json\n")
			return
		}
		off := f.open[r.Arguments.Handle]
		n := min(r.Arguments.Count, f.chunk, len(f.content)-off)
		f.open[r.Arguments.Handle] = off + n
		fmt.Fprintf(w, "{\"return\": {\"count\": %d, \"buf-b64\": %q, \"eof\": %t}}\n",
			n, base64.StdEncoding.EncodeToString([]byte(f.content[off:off+n])), off+n == len(f.content))
	case "guest-file-close":
		delete(f.open, r.Arguments.Handle)
		io.WriteString(w, `{"return": {}}`+"\n")
	}
}

func (f *fileAgent) openHandles() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.open)
}

func TestReadFileReadsAGuestFileInPiecesAndClosesIt(t *testing.T) {
	f := &fileAgent{content: strings.Repeat("0123456789", 1000), chunk: 1000, open: map[int64]int{}}
	c := dial(t, fakeAgent(t, f.answer))
	got, err := c.ReadFile("/f", 64<<10)
	if err != nil || string(got) != f.content {
		t.Errorf("read %d bytes, %v; want the 10000 bytes of the file", len(got), err)
	}
	if n := f.openHandles(); n != 0 {
		t.Errorf("%d handles left open", n)
	}
}

func TestReadFileOfAMissingFileIsNoSuchFile(t *testing.T) {
	f := &fileAgent{open: map[int64]int{}}
	_, err := dial(t, fakeAgent(t, f.answer)).ReadFile("/g", 100)
	if !NoSuchFile(err) {
		t.Errorf("read a missing file: %v, want NoSuchFile", err)
	}
}

func TestReadFileOverTheCapFailsAndClosesTheHandle(t *testing.T) {
	f := &fileAgent{content: strings.Repeat("x", 5000), chunk: 4096, open: map[int64]int{}}
	_, err := dial(t, fakeAgent(t, f.answer)).ReadFile("/f", 4999)
	if !errors.Is(err, ErrFileTooLarge) || f.openHandles() != 0 {
		t.Errorf("read %v with %d handles open, want ErrFileTooLarge and none open", err, f.openHandles())
	}
}

func TestAGarbledReadIsResynchronisedAndTheHandleClosed(t *testing.T) {
	f := &fileAgent{content: "hello", chunk: 4096, garbleRead: true, open: map[int64]int{}}
	c := dial(t, fakeAgent(t, f.answer))
	if _, err := c.ReadFile("/f", 100); !errors.Is(err, ErrMalformed) || f.openHandles() != 0 {
		t.Errorf("read %v with %d handles open, want ErrMalformed and none open", err, f.openHandles())
	}
	if got, err := c.ReadFile("/f", 100); err != nil || string(got) != "hello" {
		t.Errorf("the next read: %q, %v; want the connection still in step", got, err)
	}
}

func TestABlockedFileCommandIsNotNoSuchFile(t *testing.T) {
	path := fakeAgent(t, func(r req, w io.Writer) {
		if r.Execute == "guest-sync-delimited" {
			fmt.Fprintf(w, "\xff{\"return\": %d}\n", r.Arguments.ID)
			return
		}
		io.WriteString(w, `{"error": {"class": "CommandNotFound", "desc": "Command guest-file-open has been disabled"}}`+"\n")
	})
	_, err := dial(t, path).ReadFile("/f", 100)
	var e *Error
	if !errors.As(err, &e) || e.Class != "CommandNotFound" || NoSuchFile(err) {
		t.Errorf("read with guest-file-* blocked: %v, want a CommandNotFound *Error that is not NoSuchFile", err)
	}
}
