package compute

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// logService is a Service with only what the console log needs.
func logService(t *testing.T, maxBytes int64) (*Service, string) {
	t.Helper()
	s := &Service{o: Options{RunDir: t.TempDir(), StateDir: t.TempDir(), ConsoleLogMaxBytes: maxBytes}}
	path := s.paths("i1").ConsoleLog
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// appendLog writes as QEMU does: O_APPEND, so a truncate moves its next write to the new end.
func appendLog(t *testing.T, f *os.File, p []byte) {
	t.Helper()
	if _, err := f.Write(p); err != nil {
		t.Fatal(err)
	}
}

func TestAGuestPrintingForeverKeepsTheConsoleLogUnderItsCapWithTheNewestOutput(t *testing.T) {
	s, path := logService(t, 1000)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var all bytes.Buffer
	for i := range 500 {
		line := fmt.Appendf(nil, "line %04d\n", i)
		appendLog(t, f, line)
		all.Write(line)
		s.trimConsoleLog("i1")
		if total := fileSize(path) + fileSize(rotatedLog(path)); total > 1000 {
			t.Fatalf("after line %d the log holds %d bytes, over the cap 1000", i, total)
		}
	}
	got := s.readConsoleLog(path, 400)
	if want := all.Bytes()[all.Len()-400:]; !bytes.Equal(got, want) {
		t.Fatalf("newest 400 bytes:\n got %q\nwant %q", got, want)
	}
	if fileSize(path) >= 500 {
		t.Fatalf("console.log is %d bytes: never rotated", fileSize(path))
	}
}

func TestABootWatcherReadsEveryByteAcrossARotation(t *testing.T) {
	s, path := logService(t, 200)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	appendLog(t, f, bytes.Repeat([]byte("x"), 50)) // an earlier boot
	cur := &logCursor{offset: fileSize(path)}
	var got []byte
	for i := range 30 {
		appendLog(t, f, fmt.Appendf(nil, "boot %02d\n", i))
		if i%7 == 0 {
			got = append(got, s.next("i1", path, cur, 1<<20)...)
		}
		s.trimConsoleLog("i1")
	}
	got = append(got, s.next("i1", path, cur, 1<<20)...)
	var want []byte
	for i := range 30 {
		want = fmt.Appendf(want, "boot %02d\n", i)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("watched output:\n got %q\nwant %q", got, want)
	}
}
