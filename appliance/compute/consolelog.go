package compute

import (
	"fmt"
	"io"
	"os"
)

// The console log, bounded and complete.
//
// QEMU appends the guest's serial output to console.log itself (chardev logfile= with logappend=on:
// QEMU 7.2 opens it O_APPEND), also while no viewer is attached and while the daemon is down or
// restarting, so the log holds the whole boot whatever the daemon does. The daemon keeps it bounded:
// when console.log reaches half of ConsoleLogMaxBytes, its newest half is copied to console.log.1
// (replacing the older one) and console.log is truncated; QEMU's next write, being O_APPEND, lands at
// the new end. The two files together keep the newest output, at most the cap plus what the guest
// prints between two checks. The daemon checks at every launch and reattach (catching up with what
// QEMU wrote while the daemon was down) and after every 1/64 of the cap (4 KiB at most) it reads from
// the console socket, so the log stays under the cap while the daemon runs. Caveat, as with logrotate's copytruncate: what QEMU writes between the copy and the
// truncate (microseconds, at a rotation only) is lost.

// DefaultConsoleLogMaxBytes is the console log's default cap.
const DefaultConsoleLogMaxBytes = 1 << 20

// logRotation is what this daemon has cut from one instance's console.log.
type logRotation struct {
	cut  int64 // console.log bytes truncated away, in total
	kept int64 // bytes of the last cut kept in console.log.1
}

func rotatedLog(path string) string { return path + ".1" }

func (r *serialRegistry) rotation(id string) logRotation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs[id]
}

func (r *serialRegistry) noteCut(id string, cut, kept int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.logs == nil {
		r.logs = map[string]logRotation{}
	}
	rot := r.logs[id]
	r.logs[id] = logRotation{cut: rot.cut + cut, kept: kept}
}

// trimConsoleLog rotates the instance's console log when it has reached half the cap (less the
// 1/64 of it the guest may print between two checks).
func (s *Service) trimConsoleLog(id string) {
	path, half := s.paths(id).ConsoleLog, s.o.ConsoleLogMaxBytes/2-s.o.ConsoleLogMaxBytes/64
	s.serials.logMu.Lock()
	defer s.serials.logMu.Unlock()
	if fileSize(path) < half {
		return
	}
	cut, kept, err := rotateConsoleLog(path, half)
	if err != nil {
		s.log.Warn("rotate the console log", "instance", id, "err", err)
		return
	}
	s.serials.noteCut(id, cut, kept)
}

// rotateConsoleLog copies the newest keep bytes of path to path.1 and truncates path, returning how
// many bytes it cut and how many of them it kept.
func rotateConsoleLog(path string, keep int64) (cut, kept int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("open console log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("stat console log: %w", err)
	}
	start := max(fi.Size()-keep, 0)
	data, err := io.ReadAll(io.NewSectionReader(f, start, fi.Size()-start))
	if err != nil {
		return 0, 0, fmt.Errorf("read console log %s: %w", path, err)
	}
	tmp := rotatedLog(path) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return 0, 0, fmt.Errorf("write rotated console log: %w", err)
	}
	if err := os.Rename(tmp, rotatedLog(path)); err != nil {
		return 0, 0, fmt.Errorf("rotate console log: %w", err)
	}
	if err := f.Truncate(0); err != nil {
		return 0, 0, fmt.Errorf("truncate console log %s: %w", path, err)
	}
	return fi.Size(), int64(len(data)), nil
}

// readConsoleLog returns the newest maxBytes of the log: console.log, preceded by the end of
// console.log.1 when console.log alone is shorter.
func (s *Service) readConsoleLog(path string, maxBytes int64) []byte {
	s.serials.logMu.Lock()
	defer s.serials.logMu.Unlock()
	size := fileSize(path)
	var out []byte
	if need := maxBytes - size; need > 0 {
		old := rotatedLog(path)
		out, _ = readFrom(old, max(fileSize(old)-need, 0), need)
	}
	cur, _ := readFrom(path, max(size-maxBytes, 0), maxBytes)
	return append(out, cur...)
}

// logCursor is a position in an instance's console output that survives rotations.
type logCursor struct {
	offset int64 // in console.log
	cut    int64 // logRotation.cut when offset was taken
}

// next returns what the guest printed after the cursor (at most limit bytes of console.log), moving it.
// After a rotation it first returns the part of console.log.1 it had not read.
func (s *Service) next(id, path string, c *logCursor, limit int64) []byte {
	s.serials.logMu.Lock()
	defer s.serials.logMu.Unlock()
	var out []byte
	if rot := s.serials.rotation(id); rot.cut != c.cut {
		// One rotation kept [cutSize-kept, cutSize) of the old file; after several, all of .1 is new.
		from := max(c.offset-(rot.cut-c.cut-rot.kept), 0)
		out, _ = readFrom(rotatedLog(path), from, rot.kept)
		c.offset, c.cut = 0, rot.cut
	}
	chunk, next := readFrom(path, c.offset, limit)
	c.offset = next
	return append(out, chunk...)
}
