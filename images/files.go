package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Caps on the optional boot files; the disk is capped by Options.MaxVirtualSize.
const (
	MaxKernelSize = 256 << 20
	MaxInitrdSize = 2 << 30
)

const copyBufferSize = 4 << 20

// source is an open host file to import.
type source struct {
	what string // fileDisk, fileKernel or fileInitrd: also its name in the image directory
	path string
	f    *os.File
	size int64 // at open; the copy must find exactly this many bytes
}

// openSource opens a file named in an import request beneath root (see importRoot) and makes sure
// it is a regular file of at most limit bytes.
func openSource(root importRoot, what, path string, limit int64) (*source, error) {
	f, err := root.open(what, path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s file %s: %w", what, f.Name(), err)
	}
	if fi.Size() > limit {
		f.Close()
		return nil, faultf(ErrUnsafe, "%s file %s is %d bytes, over the cap of %d", what, quoteShort(path), fi.Size(), limit)
	}
	return &source{what: what, path: f.Name(), f: f, size: fi.Size()}, nil
}

func (s *source) Close() error { return s.f.Close() }

// staged is a file copied into an image directory under a temporary name.
type staged struct {
	tmp    string // the temporary path
	final  string // the path it gets when the import succeeds
	size   int64
	sha256 string       // lower-case hex
	synced func() error // nil: already on disk; else waits for its fsync (see finishLater)
}

// stage copies src into dir under a temporary name, hashing while it copies, and syncs it. The
// temporary file is removed when stage fails.
func (s *Service) stage(ctx context.Context, src *source, dir string) (*staged, error) {
	k, err := s.newSink(dir, src.what, src.size+1, nil)
	if err != nil {
		return nil, err
	}
	in := io.LimitReader(ctxReader{ctx, src.f}, src.size+1)
	n, err := io.CopyBuffer(k, in, make([]byte, copyBufferSize))
	if err != nil {
		k.discard()
		return nil, fmt.Errorf("copy %s file %s to %s: %w", src.what, src.path, k.f.Name(), err)
	}
	if n != src.size {
		k.discard()
		return nil, faultf(ErrInvalid, "%s file %s changed size while it was copied (%d bytes, then %d)", src.what, quoteShort(src.path), src.size, n)
	}
	return k.finish(src.what)
}

// install renames staged files to their final names and syncs their directory.
func install(dir string, files []*staged) error {
	for _, f := range files {
		if f.synced != nil {
			if err := f.synced(); err != nil {
				return err
			}
		}
		if err := os.Rename(f.tmp, f.final); err != nil {
			return fmt.Errorf("install image file: %w", err)
		}
	}
	return syncDir(dir)
}

// makeImageDir creates <parent>/<id> with mode 0700; it must not exist yet.
func makeImageDir(parent, id string) (string, error) {
	dir := filepath.Join(parent, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create image directory: %w", err)
	}
	return dir, syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
