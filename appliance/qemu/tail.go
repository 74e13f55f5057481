package qemu

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// stderrTailBytes bounds how much of QEMU's log tailLines reads: its messages are short lines.
const stderrTailBytes = 64 << 10

// tailLines returns the last n lines of the file at path, or "" when it cannot be read; it serves
// error messages, which must not fail themselves.
func tailLines(path string, n int) string {
	data, err := ConsoleLogTail(path, stderrTailBytes)
	if err != nil || n <= 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ConsoleLogTail returns at most the last maxBytes bytes of the log at path, starting at a line
// boundary when it had to cut (unless the last line alone is longer). A log that does not exist
// yet is empty, not an error.
func ConsoleLogTail(path string, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read log tail: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read log tail: %w", err)
	}
	// Read one byte more than kept when cutting: it tells whether the cut is at a line start.
	off := max(fi.Size()-maxBytes-1, 0)
	data, err := io.ReadAll(io.NewSectionReader(f, off, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read log tail %s: %w", path, err)
	}
	if int64(len(data)) > maxBytes {
		if i := bytes.IndexByte(data[:len(data)-1], '\n'); i >= 0 {
			return data[i+1:], nil
		}
		return data[1:], nil // one line longer than maxBytes: keep its end
	}
	return data, nil
}
