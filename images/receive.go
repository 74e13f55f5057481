package images

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Progress of a saving image is written to its record at most this often, or after this many bytes.
const (
	progressInterval = time.Second
	progressBytes    = 1 << 30
)

// errOverCap is what a sink's Write returns past its cap.
var errOverCap = errors.New("over the byte cap")

// sink receives a stream into a temporary file in an image directory: it hashes what it writes,
// refuses to go past its cap, and reports progress. Nothing is ever buffered beyond one write.
type sink struct {
	f        *os.File
	w        io.Writer // f, or what a test wraps it in
	h        hash.Hash
	n        int64
	max      int64
	progress func(n int64) error // nil: none
	what     string              // for messages: "upload", "download", "ova-disk"

	// reserve, when set, grows the bytes held against the image quota before a write would pass
	// reserved (see holdFor in quota.go).
	reserve  func(total int64) (reserved int64, err error)
	reserved int64
}

// newSink creates the temporary file (mode 0600) in dir.
func (s *Service) newSink(dir, what string, max int64, progress func(int64) error) (*sink, error) {
	f, err := os.CreateTemp(dir, "."+what+"-*.tmp")
	if err != nil {
		return nil, noSpace(fmt.Errorf("create temporary %s file in %s: %w", what, dir, err))
	}
	k := &sink{f: f, w: f, h: sha256.New(), max: max, progress: progress, what: what}
	if s.wrapWriter != nil {
		k.w = s.wrapWriter(f)
	}
	return k, nil
}

// Write hashes p while it writes it (sha256 runs at about disk speed, so doing both at once nearly
// halves an import), and starts the kernel's writeback of what is written so the final fsync has
// little left to wait for.
func (k *sink) Write(p []byte) (int, error) {
	if int64(len(p)) > k.max-k.n {
		return 0, errOverCap
	}
	if err := k.holdFor(int64(len(p))); err != nil {
		return 0, err
	}
	hashed := make(chan struct{})
	go func() {
		k.h.Write(p)
		close(hashed)
	}()
	n, err := k.w.Write(p)
	<-hashed
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	k.startWriteback(k.n, int64(n))
	k.n += int64(n)
	if err != nil {
		return n, &sinkError{noSpace(fmt.Errorf("write %s: %w", k.f.Name(), err))}
	}
	if k.progress != nil {
		if err := k.progress(k.n); err != nil {
			return n, &sinkError{err}
		}
	}
	return n, nil
}

// writebackChunk is how much written data accumulates before its writeback is started.
const writebackChunk = 8 << 20

// startWriteback asks the kernel to begin writing [off, off+n) to disk without waiting for it
// (sync_file_range SYNC_FILE_RANGE_WRITE), once per writebackChunk; finish's fsync still makes it durable.
func (k *sink) startWriteback(off, n int64) {
	if (off+n)/writebackChunk == off/writebackChunk {
		return
	}
	start := (off / writebackChunk) * writebackChunk
	_ = unix.SyncFileRange(int(k.f.Fd()), start, off+n-start, unix.SYNC_FILE_RANGE_WRITE)
}

// sinkError marks a failure on cloudlet's side of a copy (the disk, the catalog), as opposed to
// the sender's.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// reset empties the file and the hash, for a download that must start over.
func (k *sink) reset() error {
	if err := k.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate %s: %w", k.f.Name(), err)
	}
	if _, err := k.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind %s: %w", k.f.Name(), err)
	}
	k.h.Reset()
	k.n = 0
	return nil
}

// finish syncs and closes the file; it is to be installed as name in its directory.
func (k *sink) finish(name string) (*staged, error) {
	if err := k.f.Sync(); err != nil {
		k.discard()
		return nil, noSpace(fmt.Errorf("sync %s: %w", k.f.Name(), err))
	}
	if err := k.f.Close(); err != nil {
		os.Remove(k.f.Name())
		return nil, noSpace(fmt.Errorf("close %s: %w", k.f.Name(), err))
	}
	return &staged{tmp: k.f.Name(), final: filepath.Join(filepath.Dir(k.f.Name()), name), size: k.n,
		sha256: hex.EncodeToString(k.h.Sum(nil))}, nil
}

// finishLater is finish without waiting for the disk: the file's fsync runs while the caller inspects
// it, and the returned staged file waits for that fsync before install renames it into place, so
// nothing becomes active before its bytes are durable.
func (k *sink) finishLater(name string) *staged {
	done := make(chan error, 1)
	go func() {
		err := k.f.Sync()
		if cerr := k.f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	st := &staged{tmp: k.f.Name(), final: filepath.Join(filepath.Dir(k.f.Name()), name), size: k.n,
		sha256: hex.EncodeToString(k.h.Sum(nil))}
	var once sync.Once
	var syncErr error
	st.synced = func() error {
		once.Do(func() {
			if err := <-done; err != nil {
				syncErr = noSpace(fmt.Errorf("sync %s: %w", st.tmp, err))
			}
		})
		return syncErr
	}
	return st
}

// discard closes and removes the file.
func (k *sink) discard() {
	k.f.Close()
	os.Remove(k.f.Name())
}

// overCap is the error for data past a cap of max bytes.
func overCap(what string, max int64) error {
	return faultf(ErrTooLarge, "%s is larger than the cap of %d bytes", what, max)
}

// noSpace gives a write that failed for lack of space the kind no_capacity; other errors pass.
func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return faultf(ErrNoSpace, "no space left in the image store: %v", err)
	}
	return err
}

// progress writes a saving image's bytes_received to its record, at most every progressInterval
// or every progressBytes bytes, so that a fast upload does not become a stream of catalog writes.
type progress struct {
	s     *Service
	id    string
	last  time.Time
	lastN int64
}

func (s *Service) newProgress(id string) *progress { return &progress{s: s, id: id, last: s.now()} }

func (p *progress) report(n int64) error {
	now := p.s.now()
	if now.Sub(p.last) < progressInterval && n-p.lastN < p.s.progressStep {
		return nil
	}
	p.last, p.lastN = now, n
	return p.write(n)
}

func (p *progress) write(n int64) error {
	_, err := p.s.modify(p.id, func(img *Image) error {
		img.BytesReceived = n
		return nil
	})
	if err != nil {
		return fmt.Errorf("record progress of image %s: %w", p.id, err)
	}
	return nil
}
