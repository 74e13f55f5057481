package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Limits for qemu-img on an untrusted file. The rlimits are those Nova and Glance use (oslo's
// ProcessLimits): a crafted image must not make qemu-img eat the host's memory or CPU.
const (
	qemuImgAddressSpace = 1 << 30 // bytes
	qemuImgCPUSeconds   = 30
	qemuImgTimeout      = 60 * time.Second
	qemuImgWaitDelay    = 5 * time.Second
	qemuImgMaxOutput    = 1 << 20 // bytes of stdout or stderr
)

// infoKeysRejected are keys of `qemu-img info --output=json` that mean the image reaches for
// another file. They are rejected wherever they appear in the output.
var infoKeysRejected = []string{"backing-filename", "full-backing-filename", "backing-filename-format", "backing-image", "data-file"}

// qemuImg runs qemu-img.
type qemuImg struct {
	path    string // the qemu-img binary
	prlimit string // the prlimit binary, "" when it is not installed (then no rlimits)
}

// imgInfo is what cloudlet takes from qemu-img info.
type imgInfo struct {
	Format      string `json:"format"`
	VirtualSize *int64 `json:"virtual-size"`
}

// infoArgv is the command line of qemu-img info on path read as format. The format is always
// explicit (qemu-img never probes), path is absolute (so it is never read as an option or a
// protocol prefix), and prlimit, when present, applies the rlimits before exec'ing qemu-img.
func (q qemuImg) infoArgv(format, path string) []string {
	argv := []string{q.path, "info", "-f", format, "--output=json", path}
	if q.prlimit == "" {
		return argv
	}
	limits := []string{q.prlimit, fmt.Sprintf("--as=%d", qemuImgAddressSpace), fmt.Sprintf("--cpu=%d", qemuImgCPUSeconds), "--"}
	return append(limits, argv...)
}

// info runs qemu-img info on path as format and checks its answer: the format it read is the one
// asked for and nothing in it points at another file. A file qemu-img refuses, or that makes it
// hit a limit, is the image's fault (ErrUnsafe); a qemu-img that cannot run is the host's.
func (q qemuImg) info(ctx context.Context, format, path string) (imgInfo, error) {
	runCtx, cancel := context.WithTimeout(ctx, qemuImgTimeout)
	defer cancel()
	argv := q.infoArgv(format, path)
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	stdout, stderr := &cappedBuffer{max: qemuImgMaxOutput}, &cappedBuffer{max: qemuImgMaxOutput}
	cmd.Stdout, cmd.Stderr, cmd.WaitDelay = stdout, stderr, qemuImgWaitDelay
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return imgInfo{}, fmt.Errorf("qemu-img info -f %s %s: %w", format, path, ctx.Err())
	case runCtx.Err() != nil:
		return imgInfo{}, faultf(ErrUnsafe, "qemu-img info -f %s did not finish within %s", format, qemuImgTimeout)
	case stdout.overflow: // before the exit status: the closed pipe usually kills qemu-img
		return imgInfo{}, faultf(ErrUnsafe, "qemu-img info -f %s wrote more than %d bytes", format, qemuImgMaxOutput)
	case errors.As(err, &exit) && q.prlimit != "" && (exit.ExitCode() == 126 || exit.ExitCode() == 127):
		// prlimit's codes for a command it cannot exec; qemu-img itself exits 1 on a bad image.
		return imgInfo{}, fmt.Errorf("run %s: prlimit could not start qemu-img: %s", strings.Join(argv, " "), firstLine(stderr.String()))
	case errors.As(err, &exit):
		msg := firstLine(strings.ReplaceAll(stderr.String(), path, "image")) // the temporary path means nothing to the caller
		return imgInfo{}, faultf(ErrUnsafe, "qemu-img info -f %s refused the image (%s): %s", format, exit.ProcessState, msg)
	case err != nil:
		return imgInfo{}, fmt.Errorf("run %s: %w", strings.Join(argv, " "), err)
	}
	return parseInfo(stdout.Bytes(), format)
}

// parseInfo checks qemu-img info's JSON for the format asked for and for references to other files.
func parseInfo(out []byte, format string) (imgInfo, error) {
	var tree any
	if err := json.Unmarshal(out, &tree); err != nil {
		return imgInfo{}, fmt.Errorf("parse qemu-img info output: %w", err)
	}
	if key, val, ok := findKey(tree, infoKeysRejected); ok {
		return imgInfo{}, faultf(ErrUnsafe, "qemu-img info reports %s %s: images must be self-contained", key, quoteShort(fmt.Sprint(val)))
	}
	var info imgInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return imgInfo{}, fmt.Errorf("parse qemu-img info output: %w", err)
	}
	if info.Format != format {
		return imgInfo{}, faultf(ErrUnsafe, "qemu-img read the image as %s, not %s", quoteShort(info.Format), format)
	}
	if info.VirtualSize == nil || *info.VirtualSize < 0 {
		return imgInfo{}, faultf(ErrUnsafe, "qemu-img info reports no virtual size")
	}
	return info, nil
}

// findKey looks for any of keys in a decoded JSON tree, at any depth.
func findKey(tree any, keys []string) (string, any, bool) {
	switch t := tree.(type) {
	case map[string]any:
		for _, k := range keys {
			if v, ok := t[k]; ok {
				return k, v, true
			}
		}
		for _, v := range t {
			if k, val, ok := findKey(v, keys); ok {
				return k, val, true
			}
		}
	case []any:
		for _, v := range t {
			if k, val, ok := findKey(v, keys); ok {
				return k, val, true
			}
		}
	}
	return "", nil, false
}

var errOutputTooLarge = errors.New("output too large")

// cappedBuffer collects a child's output up to max bytes and fails the write beyond, which makes
// os/exec close the pipe.
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool // a write went beyond max
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		b.overflow = true
		return 0, errOutputTooLarge
	}
	return b.buf.Write(p)
}

func (b *cappedBuffer) Bytes() []byte  { return b.buf.Bytes() }
func (b *cappedBuffer) String() string { return b.buf.String() }

// firstLine is the first line of a tool's message, cut short.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	return line
}
