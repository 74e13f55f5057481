package volume

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// qemuImg runs qemu-img. Every call names the formats explicitly (-f, -F: qemu-img never probes),
// runs under a timeout, and gets only absolute paths or relative backing names of files in
// the same volume directory (active.qcow2, active-<uuid>.qcow2, snap-<uuid>.qcow2), never
// a user string, so nothing can be read as an option or a protocol prefix.
type qemuImg struct {
	path                 string
	timeout, copyTimeout time.Duration
}

// createOpts describe a new qcow2 file.
type createOpts struct {
	backing, backingFormat string // "" for a standalone file
	unsafe                 bool   // do not open the backing file (it may not exist yet, or QEMU holds it)
	clusterSize            int64
	prealloc               string // only for standalone files: qcow2 refuses it with a backing file
	size                   int64  // bytes
}

func (q qemuImg) create(ctx context.Context, path string, o createOpts) error {
	args := []string{"create", "-q", "-f", "qcow2"}
	if o.backing != "" {
		args = append(args, "-F", o.backingFormat, "-b", o.backing)
		if o.unsafe {
			args = append(args, "-u")
		}
	}
	args = append(args, "-o", qcow2Options(o.clusterSize, o.prealloc), path, strconv.FormatInt(o.size, 10))
	return q.run(ctx, q.timeout, args...)
}

// convert copies the whole chain under src (read as srcFormat) into a standalone qcow2 file.
func (q qemuImg) convert(ctx context.Context, srcFormat, src, dst string, clusterSize int64, prealloc string) error {
	return q.run(ctx, q.copyTimeout, "convert", "-q", "-f", srcFormat, "-O", "qcow2",
		"-o", qcow2Options(clusterSize, prealloc), src, dst)
}

func (q qemuImg) resize(ctx context.Context, path string, size int64) error {
	return q.run(ctx, q.timeout, "resize", "-q", "-f", "qcow2", path, strconv.FormatInt(size, 10))
}

// rebase makes path's backing file backing (format backingFormat; "" for none), copying into path
// whatever differs between the old and the new backing, so its content stays the same. It is safe
// to run again after an interruption.
func (q qemuImg) rebase(ctx context.Context, path, backing, backingFormat string) error {
	args := []string{"rebase", "-q", "-f", "qcow2"}
	if backing != "" {
		args = append(args, "-F", backingFormat)
	}
	return q.run(ctx, q.copyTimeout, append(args, "-b", backing, path)...)
}

// imageInfo is what the service reads back from a qcow2 header.
type imageInfo struct {
	VirtualSize int64  `json:"virtual-size"`
	Backing     string `json:"full-backing-filename"`
}

// info reads path's header; -U lets it read a file a running QEMU holds.
func (q qemuImg) info(ctx context.Context, path string) (imageInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, q.path, "info", "-U", "-f", "qcow2", "--output=json", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return imageInfo{}, fmt.Errorf("qemu-img info %s: %w: %s", path, err, firstLine(stderr.String()))
	}
	var info imageInfo
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		return imageInfo{}, fmt.Errorf("qemu-img info %s: parse output: %w", path, err)
	}
	return info, nil
}

// run runs qemu-img with args under timeout; its stderr becomes the error.
func (q qemuImg) run(ctx context.Context, timeout time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, q.path, args...)
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := runDyingWithTheDaemon(cmd); err != nil {
		msg := firstLine(stderr.String())
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		case strings.Contains(msg, "No space left on device"):
			return faultf(ErrNoCapacity, "qemu-img %s: the pool's filesystem is full: %s", args[0], msg)
		}
		return fmt.Errorf("qemu-img %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return nil
}

func qcow2Options(clusterSize int64, prealloc string) string {
	o := "cluster_size=" + strconv.FormatInt(clusterSize, 10)
	if prealloc != "" && prealloc != PreallocOff {
		o += ",preallocation=" + prealloc
	}
	return o
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
