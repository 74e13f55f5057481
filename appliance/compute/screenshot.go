package compute

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Screenshot limits.
const (
	// screendumpName is the one file QEMU writes a screendump to, in the instance's run dir: never a
	// path from a request.
	screendumpName = "screendump.ppm"
	// screendumpTimeout bounds QEMU's answer; it is not the request's deadline, because a QMP
	// command abandoned mid-flight breaks the monitor.
	screendumpTimeout = 10 * time.Second
	// MaxScreenPixels caps the framebuffer a screenshot converts (4096×2160, 35 MiB as RGBA).
	MaxScreenPixels = 4096 * 2160
)

// Screenshot returns a PNG of the screen of a running instance of the project: QMP screendump into
// the instance's run dir (PPM, the one format QEMU 7.2 writes without libpng), read with a size
// cap, converted in Go and removed. A hostile or broken file is an error, never a large allocation.
func (s *Service) Screenshot(ctx context.Context, projectID, idOrName string) ([]byte, error) {
	inst, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return nil, err
	}
	if err := hasQEMU(inst); err != nil {
		return nil, err
	}
	var ppm []byte
	err = s.call(ctx, inst.ID, func(ctx context.Context, sv *supervisor) error {
		ppm, err = sv.screendump(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("screenshot of instance %s: %w", inst.Name, err)
	}
	img, err := decodePPM(bytes.NewReader(ppm), MaxScreenPixels)
	if err != nil {
		return nil, fmt.Errorf("screenshot of instance %s: %w", inst.Name, err)
	}
	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		return nil, fmt.Errorf("screenshot of instance %s: encode png: %w", inst.Name, err)
	}
	return out.Bytes(), nil
}

// screendump runs on the supervisor: QEMU writes the screen to the fixed file, which is read (at
// most the size of MaxScreenPixels) and removed.
func (sv *supervisor) screendump(ctx context.Context) ([]byte, error) {
	if sv.mon == nil {
		return nil, errConflict("instance %s has no running QEMU", sv.id)
	}
	path := filepath.Join(sv.s.paths(sv.id).RunDir, screendumpName)
	_ = os.Remove(path) // a leftover of a daemon killed mid-dump, or whatever QEMU's user put there
	defer os.Remove(path)
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), screendumpTimeout)
	defer cancel()
	if err := sv.mon.Execute(qctx, "screendump", map[string]any{"filename": path}, nil); err != nil {
		return nil, fmt.Errorf("screendump: %w", err)
	}
	return readCapped(path, maxPPMBytes(MaxScreenPixels))
}

// readCapped reads the regular file at path, refusing one over limit bytes without reading past
// it. The run dir belongs to QEMU's user: a symlink there (to a host file) or a FIFO (which would
// block the supervisor) is refused, never followed or waited on.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read screendump: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read screendump: %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read screendump: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read screendump: over %d bytes", limit)
	}
	return data, nil
}
