package qmp

import (
	"fmt"
	"sync"
)

// The transcript's bounds: every running instance keeps one, and the health check adds two lines every
// few seconds, so the ring is soon full; 64 lines of at most 1 KiB bound it to 64 KiB per instance
// (200 lines of 4 KiB let it reach 800 KiB) and still hold the last 30 exchanges.
const (
	transcriptLines   = 64
	transcriptLineMax = 1 << 10
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
