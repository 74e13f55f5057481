package qmp

import (
	"fmt"
	"sync"
)

const (
	transcriptLines   = 200
	transcriptLineMax = 4 << 10
)

// transcript is a ring of the most recent QMP traffic, for debugging a misbehaving QEMU.
type transcript struct {
	mu    sync.Mutex // guards the fields below
	lines []string   // ring buffer, len <= transcriptLines
	next  int        // where the next line goes once the ring is full
}

// add records one line; dir is "->" (sent) or "<-" (received).
func (t *transcript) add(dir string, raw []byte) {
	line := string(raw)
	if len(line) > transcriptLineMax {
		line = fmt.Sprintf("%s… (%d bytes)", line[:transcriptLineMax], len(raw))
	}
	line = dir + " " + line
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) < transcriptLines {
		t.lines = append(t.lines, line)
		return
	}
	t.lines[t.next] = line
	t.next = (t.next + 1) % transcriptLines
}

// snapshot returns the lines oldest first.
func (t *transcript) snapshot() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.lines))
	out = append(out, t.lines[t.next:]...)
	return append(out, t.lines[:t.next]...)
}
