package images

import (
	"errors"
	"fmt"
	"io"
)

// readSpan reads up to n bytes of r at off, stopping at size: a short file gives a short slice,
// not an error. Only a failing read is an error.
func readSpan(r io.ReaderAt, size, off, n int64) ([]byte, error) {
	if off < 0 || n <= 0 || off >= size {
		return nil, nil
	}
	n = min(n, size-off)
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %d bytes at offset %d: %w", n, off, err)
	}
	return buf[:got], nil
}
