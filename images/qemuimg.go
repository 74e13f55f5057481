package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Limits for qemu-img on an untrusted file. The rlimits of info are those Nova and Glance use
// (oslo's ProcessLimits): a crafted image must not make qemu-img eat the host's memory or CPU.
// A conversion reads every byte (and inflates streamOptimized VMDKs), so it gets more CPU time
// and wall time, but the same kind of wrapper.
const (
	qemuImgAddressSpace = 1 << 30 // bytes
	qemuImgCPUSeconds   = 30
	qemuImgTimeout      = 60 * time.Second
	qemuImgWaitDelay    = 5 * time.Second
	qemuImgMaxOutput    = 1 << 20 // bytes of stdout or stderr

	convertAddressSpace = 2 << 30 // bytes: qemu-img convert runs a pool of I/O threads
	convertCPUSeconds   = 3600
	convertTimeout      = 4 * time.Hour
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

// limits is how one qemu-img command is confined.
type limits struct {
	addressSpace int64
	cpuSeconds   int
	timeout      time.Duration
	answers      []int // exit codes other than 0 after which stdout still holds the answer
}

var (
	infoLimits    = limits{qemuImgAddressSpace, qemuImgCPUSeconds, qemuImgTimeout, nil}
	convertLimits = limits{convertAddressSpace, convertCPUSeconds, convertTimeout, nil}
	// checkLimits are info's: check reads only metadata. It exits 2 when it found corruptions
	// and 3 when it found only leaks, with its report on stdout either way.
	checkLimits = limits{qemuImgAddressSpace, qemuImgCPUSeconds, qemuImgTimeout, []int{2, 3}}
)

// infoArgv is the command line of qemu-img info on path read as format. The format is always
// explicit (qemu-img never probes), path is absolute (so it is never read as an option or a
// protocol prefix), and prlimit, when present, applies the rlimits before exec'ing qemu-img.
func (q qemuImg) infoArgv(format, path string) []string {
	return q.limited(infoLimits, q.path, "info", "-f", format, "--output=json", path)
}

// convertArgv is the command line that converts src (read as format, never probed) into a new
// qcow2 file dst. Both paths are absolute names cloudlet chose inside the image directory.
func (q qemuImg) convertArgv(format, src, dst string) []string {
	return q.limited(convertLimits, q.path, "convert", "-q", "-f", format, "-O", FormatQcow2, src, dst)
}

// limited prefixes argv with prlimit and l's rlimits, when prlimit is installed.
func (q qemuImg) limited(l limits, argv ...string) []string {
	if q.prlimit == "" {
		return argv
	}
	pre := []string{q.prlimit, fmt.Sprintf("--as=%d", l.addressSpace), fmt.Sprintf("--cpu=%d", l.cpuSeconds), "--"}
	return append(pre, argv...)
}

// info runs qemu-img info on path as format and checks its answer: the format it read is the one
// asked for and nothing in it points at another file. A file qemu-img refuses, or that makes it
// hit a limit, is the image's fault (ErrUnsafe); a qemu-img that cannot run is the host's.
func (q qemuImg) info(ctx context.Context, format, path string) (imgInfo, error) {
	out, err := q.run(ctx, infoLimits, "info -f "+format, strings.NewReplacer(path, "image"), q.infoArgv(format, path))
	if err != nil {
		return imgInfo{}, err
	}
	return parseInfo(out, format)
}

// convert runs qemu-img convert from src (as format) to a new qcow2 file dst.
func (q qemuImg) convert(ctx context.Context, format, src, dst string) error {
	scrub := strings.NewReplacer(src, "image", dst, "converted image")
	_, err := q.run(ctx, convertLimits, "convert -f "+format, scrub, q.convertArgv(format, src, dst))
	return err
}

// run runs one qemu-img command under l and classifies its failure: the image's fault
// (ErrUnsafe), a full disk (ErrNoSpace), or the host's (a plain error). what names the command in
// messages; scrub replaces the temporary paths in what qemu-img says (they mean nothing to the caller).
func (q qemuImg) run(ctx context.Context, l limits, what string, scrub *strings.Replacer, argv []string) ([]byte, error) {
	runCtx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	stdout, stderr := &cappedBuffer{max: qemuImgMaxOutput}, &cappedBuffer{max: qemuImgMaxOutput}
	cmd.Stdout, cmd.Stderr, cmd.WaitDelay = stdout, stderr, qemuImgWaitDelay
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("run %s: %w", strings.Join(argv, " "), ctx.Err())
	case runCtx.Err() != nil:
		return nil, faultf(ErrUnsafe, "qemu-img %s did not finish within %s", what, l.timeout)
	case stdout.overflow: // before the exit status: the closed pipe usually kills qemu-img
		return nil, faultf(ErrUnsafe, "qemu-img %s wrote more than %d bytes", what, qemuImgMaxOutput)
	case errors.As(err, &exit) && q.prlimit != "" && (exit.ExitCode() == 126 || exit.ExitCode() == 127):
		// prlimit's codes for a command it cannot exec; qemu-img itself exits 1 on a bad image.
		return nil, fmt.Errorf("run %s: prlimit could not start qemu-img: %s", strings.Join(argv, " "), firstLine(stderr.String()))
	case errors.As(err, &exit) && strings.Contains(stderr.String(), "No space left on device"):
		return nil, faultf(ErrNoSpace, "qemu-img %s: no space left in the image store", what)
	case errors.As(err, &exit) && slices.Contains(l.answers, exit.ExitCode()):
		return stdout.Bytes(), nil
	case errors.As(err, &exit):
		msg := firstLine(scrub.Replace(stderr.String()))
		return nil, faultf(ErrUnsafe, "qemu-img %s refused the image (%s): %s", what, exit.ProcessState, msg)
	case err != nil:
		return nil, fmt.Errorf("run %s: %w", strings.Join(argv, " "), err)
	}
	return stdout.Bytes(), nil
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
