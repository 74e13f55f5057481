package volume_test

// Benchmark B3 of TESTING.md, its first half: provisioning a volume from an image is a qcow2
// overlay, so it must cost what `qemu-img create -b` by hand costs, whatever the image's size.
// It compares the two in the same run, interleaved, and writes b3-clone.json and b3-clone.md into
// $BENCH_OUT (default: bench-out at the repository root). The second half, import throughput, is
// in images/bench_test.go.
//
// It only runs under -bench (make bench); `go test ./...` compiles it and nothing else.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/volume"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

// B3 clone rounds per run: each round creates one overlay each way on each base (four creates
// of 5-30 ms, plus a delete each), after an untimed warm-up round. A run does b3CloneRounds, or
// more until they have taken -benchtime (1 s), so a run takes one to two seconds. -benchtime=Nx
// asks for exactly N rounds, at most b3CloneMaxRounds.
const (
	b3CloneRounds    = 15
	b3CloneMaxRounds = 200
	b3Project        = "bench"
)

// b3Bases are the base images' virtual sizes. Each is sparse: b3BaseData bytes of real data at
// its start, the rest unallocated, so the 10 GiB one costs a few MiB of disk.
var b3Bases = []int64{1 << 30, 10 << 30}

const b3BaseData = "8M"

// BenchmarkB3OverlayClone measures, interleaved, (A) volume.Service.Create of a volume from an
// image (the qcow2 overlay the API makes for POST /volumes with image_id and for an instance's
// root disk) and (B) `qemu-img create -f qcow2 -F qcow2 -b BASE overlay SIZE` run by hand, on a
// 1 GiB and a 10 GiB base. Only the create is timed: A's Delete and B's rm happen outside it.
// Within a round the bases alternate and so does which side goes first (A B, then B A), so
// neither side always runs on a cache the other warmed. It reports per base the medians and
// their ratio A/B, and per side the ratio of its 10 GiB median to its 1 GiB median (1.0 is flat).
// Targets from the issue, reported not asserted: A's median under 20 ms, flat in base size,
// ratio ≤ 1.5.
func BenchmarkB3OverlayClone(b *testing.B) {
	if b3Probe(b) {
		return
	}
	qemuImg, err := exec.LookPath("qemu-img")
	if err != nil {
		b.Fatalf("qemu-img is required: %v", err)
	}
	root := b.TempDir()
	bases := make([]*b3Base, len(b3Bases))
	for i, size := range b3Bases {
		bases[i] = makeB3Base(b, root, size)
	}
	svc := newB3Service(b, root, bases)
	hand := filepath.Join(root, "hand")
	if err := os.Mkdir(hand, 0o700); err != nil {
		b.Fatal(err)
	}
	r := b3CloneReport{Environment: b3Environment(b, qemuImg, root),
		Targets: b3CloneTargets{MedianMS: 20, Ratio: 1.5, Flatness: 1}}

	// Warm-up round, untimed, which also checks that A makes an overlay on the image's file.
	for _, base := range bases {
		v := b3Create(b, svc, base, "warm")
		if v.Backing != base.path || v.BackingFormat != "qcow2" || v.Depth != 1 || v.FullCopy {
			b.Fatalf("volume from image %s is not an overlay on %s: %+v", base.ref, base.path, v)
		}
		b3Delete(b, svc, v)
		b3HandOverlay(b, qemuImg, base, hand)
	}
	b.ResetTimer()
	for i := 0; b3More(b, i, b3CloneRounds, b3CloneMaxRounds); i++ {
		r.Rounds++
		for j, base := range bases {
			a := func() { base.api = append(base.api, b3Delete(b, svc, b3Create(b, svc, base, strconv.Itoa(i)))) }
			h := func() { base.hand = append(base.hand, b3HandOverlay(b, qemuImg, base, hand)) }
			if (i+j)%2 == 0 {
				a()
				h()
			} else {
				h()
				a()
			}
		}
	}
	b.StopTimer()
	r.summarize(bases)
	last := r.Bases[len(r.Bases)-1]
	b.ReportMetric(last.Cloudlet.MedianMS*1e6, "ns/op") // one create on the largest base, not per b.N: see b3More
	for _, s := range r.Bases {
		b.ReportMetric(s.Cloudlet.MedianMS, "clone-"+s.Name+"-ms")
		b.ReportMetric(s.Baseline.MedianMS, "qemuimg-"+s.Name+"-ms")
		b.ReportMetric(s.Ratio, "ratio-"+s.Name)
	}
	b.ReportMetric(r.Flatness.Cloudlet, "clone-flatness")
	b.ReportMetric(r.Flatness.Baseline, "qemuimg-flatness")
	testkit.WriteReport(b, "b3-clone", r, r.markdown())
}

// b3Base is one base image and the samples taken on it.
type b3Base struct {
	name      string // "1GiB"
	ref       string // the image reference volumes are created from
	path      string
	virtual   int64 // bytes
	allocated int64 // bytes on disk
	api, hand []time.Duration
}

// makeB3Base creates a sparse qcow2 base of size bytes with b3BaseData of 0x5a at its start.
func makeB3Base(b *testing.B, root string, size int64) *b3Base {
	b.Helper()
	name := strconv.FormatInt(size>>30, 10) + "GiB"
	dir := filepath.Join(root, "images", name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	base := &b3Base{name: name, ref: "base-" + name, path: filepath.Join(dir, "disk"), virtual: size}
	b3Run(b, "qemu-img", "create", "-q", "-f", "qcow2", base.path, strconv.FormatInt(size, 10))
	b3Run(b, "qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 "+b3BaseData, base.path)
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
		ActualSize  int64 `json:"actual-size"`
	}
	out := b3Run(b, "qemu-img", "info", "-f", "qcow2", "--output=json", base.path)
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.VirtualSize != size {
		b.Fatalf("base %s: qemu-img info says %s (%v)", base.path, out, err)
	}
	base.allocated = info.ActualSize
	return base
}

// newB3Service is a volume service over a fresh catalog in root, with a default pool and an
// image source that knows the bases (the daemon's asks the image service; this one answers from
// memory, so A includes no image catalog lookup).
func newB3Service(b *testing.B, root string, bases []*b3Base) *volume.Service {
	b.Helper()
	db := testkit.Catalog(b, root, store.Options{})
	for _, base := range bases {
		testkit.ImageRecord(b, db, base.ref, base.name, "")
	}
	svc, err := volume.New(volume.Options{
		DB: db, Log: slog.New(slog.DiscardHandler),
		Images: func(_ context.Context, _, ref string) (volume.ImageFile, error) {
			for _, base := range bases {
				if ref == base.ref {
					return volume.ImageFile{ID: base.ref, Path: base.path, Format: "qcow2", VirtualSize: base.virtual}, nil
				}
			}
			return volume.ImageFile{}, fmt.Errorf("image %s not found", ref)
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.EnsureDefaultPool(context.Background(), filepath.Join(root, "pool")); err != nil {
		b.Fatal(err)
	}
	return svc
}

// b3Volume is a volume and the time its Create took.
type b3Volume struct {
	*volume.Volume
	took time.Duration
}

// b3Create makes a volume from base through the service, timing the Create call alone.
func b3Create(b *testing.B, svc *volume.Service, base *b3Base, suffix string) b3Volume {
	b.Helper()
	start := time.Now()
	v, err := svc.Create(context.Background(), b3Project, volume.CreateRequest{Name: strings.ToLower("b3-" + base.name + "-" + suffix), ImageID: base.ref})
	took := time.Since(start)
	if err != nil {
		b.Fatalf("create a volume from %s: %v", base.ref, err)
	}
	return b3Volume{v, took}
}

// b3Delete deletes v (untimed) and returns the time its create took.
func b3Delete(b *testing.B, svc *volume.Service, v b3Volume) time.Duration {
	b.Helper()
	if err := svc.Delete(context.Background(), b3Project, v.ID); err != nil {
		b.Fatalf("delete volume %s: %v", v.Name, err)
	}
	return v.took
}

// b3HandOverlay times `qemu-img create -f qcow2 -F qcow2 -b BASE overlay SIZE` in dir, then
// removes the overlay (untimed). Its stderr goes to a buffer, as the service's does.
func b3HandOverlay(b *testing.B, qemuImg string, base *b3Base, dir string) time.Duration {
	b.Helper()
	overlay := filepath.Join(dir, "overlay.qcow2")
	var stderr bytes.Buffer
	cmd := exec.Command(qemuImg, "create", "-f", "qcow2", "-F", "qcow2", "-b", base.path, overlay, strconv.FormatInt(base.virtual, 10))
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	if err := os.Remove(overlay); err != nil {
		b.Fatal(err)
	}
	return took
}

// b3CloneReport is b3-clone.json.
type b3CloneReport struct {
	Benchmark   string         `json:"benchmark"`
	Environment b3Env          `json:"environment"`
	Rounds      int            `json:"rounds"` // interleaved pairs per base
	Bases       []b3CloneBase  `json:"bases"`
	Flatness    b3Flatness     `json:"flatness"` // median on the largest base / median on the smallest
	Targets     b3CloneTargets `json:"targets"`
}

type b3CloneBase struct {
	Name           string  `json:"name"`
	VirtualBytes   int64   `json:"virtual_bytes"`
	AllocatedBytes int64   `json:"allocated_bytes"`
	Baseline       b3Side  `json:"baseline"`
	Cloudlet       b3Side  `json:"cloudlet"`
	Ratio          float64 `json:"ratio"`        // cloudlet median / baseline median
	PairedRatio    float64 `json:"paired_ratio"` // median of cloudlet_i / baseline_i over the pairs
	DifferenceMS   float64 `json:"difference_ms"`
}

type b3Side struct {
	What      string    `json:"what"`
	MedianMS  float64   `json:"median_ms"`
	SamplesMS []float64 `json:"samples_ms"`
}

type b3Flatness struct {
	Cloudlet float64 `json:"cloudlet"`
	Baseline float64 `json:"baseline"`
}

type b3CloneTargets struct {
	MedianMS float64 `json:"median_ms"` // cloudlet median, every base
	Ratio    float64 `json:"ratio"`     // at most, every base
	Flatness float64 `json:"flatness"`  // the ideal: no dependence on the base's size
}

func (r *b3CloneReport) summarize(bases []*b3Base) {
	r.Benchmark = "B3 overlay clone: volume create from an image vs qemu-img create -b by hand"
	for _, base := range bases {
		s := b3CloneBase{Name: base.name, VirtualBytes: base.virtual, AllocatedBytes: base.allocated,
			Cloudlet: b3Side{What: "volume.Service.Create{image_id} (catalog records, qemu-img create -u overlay, rename, dir fsync)",
				MedianMS: b3MedianMS(base.api), SamplesMS: b3MSList(base.api)},
			Baseline: b3Side{What: "exec qemu-img create -f qcow2 -F qcow2 -b BASE overlay SIZE",
				MedianMS: b3MedianMS(base.hand), SamplesMS: b3MSList(base.hand)},
		}
		s.Ratio = s.Cloudlet.MedianMS / s.Baseline.MedianMS
		s.DifferenceMS = s.Cloudlet.MedianMS - s.Baseline.MedianMS
		var ratios []float64
		for i := range base.api {
			ratios = append(ratios, float64(base.api[i])/float64(base.hand[i]))
		}
		s.PairedRatio = b3Median(ratios)
		r.Bases = append(r.Bases, s)
	}
	first, last := r.Bases[0], r.Bases[len(r.Bases)-1]
	r.Flatness = b3Flatness{Cloudlet: last.Cloudlet.MedianMS / first.Cloudlet.MedianMS,
		Baseline: last.Baseline.MedianMS / first.Baseline.MedianMS}
}

func (r *b3CloneReport) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# B3: overlay clone, volume create vs qemu-img create -b (%d interleaved pairs per base)\n\n", r.Rounds)
	fmt.Fprintf(&s, "| base (virtual, on disk) | cloudlet median ms | qemu-img median ms | ratio | paired ratio | cloudlet samples ms | qemu-img samples ms |\n")
	fmt.Fprintf(&s, "|---|---:|---:|---:|---:|---|---|\n")
	for _, b := range r.Bases {
		fmt.Fprintf(&s, "| %s (%.1f MiB on disk) | %.1f | %.1f | %.2f | %.2f | %s | %s |\n", b.Name, float64(b.AllocatedBytes)/(1<<20),
			b.Cloudlet.MedianMS, b.Baseline.MedianMS, b.Ratio, b.PairedRatio, b3JoinMS(b.Cloudlet.SamplesMS), b3JoinMS(b.Baseline.SamplesMS))
	}
	first, last := r.Bases[0], r.Bases[len(r.Bases)-1]
	fmt.Fprintf(&s, "\n| result | value | target |\n|---|---:|---:|\n")
	for _, b := range r.Bases {
		fmt.Fprintf(&s, "| cloudlet median, %s base | %.1f ms | < %.0f ms |\n", b.Name, b.Cloudlet.MedianMS, r.Targets.MedianMS)
	}
	for _, b := range r.Bases {
		fmt.Fprintf(&s, "| ratio (cloudlet / qemu-img), %s base | %.2f | ≤ %.1f |\n", b.Name, b.Ratio, r.Targets.Ratio)
	}
	fmt.Fprintf(&s, "| cloudlet flatness (%s median / %s median) | %.2f | ≈ %.0f |\n", last.Name, first.Name, r.Flatness.Cloudlet, r.Targets.Flatness)
	fmt.Fprintf(&s, "| qemu-img flatness (%s median / %s median) | %.2f | ≈ %.0f |\n", last.Name, first.Name, r.Flatness.Baseline, r.Targets.Flatness)
	fmt.Fprintf(&s, "\nOnly the create is timed: the volume's Delete and the hand-made overlay's rm happen outside it.\n")
	s.WriteString(r.Environment.markdown())
	return s.String()
}

// The helpers below are those of appliance/e2e/bench_test.go, which a unit-test package cannot
// import; images/bench_test.go has the same.

// b3Probe reports whether this call is Go's throwaway b.N=1 probe under -benchtime=Nx (N > 1),
// which does no work.
func b3Probe(b *testing.B) bool {
	n, _ := b3Benchtime()
	return n > 1 && b.N == 1
}

// b3More reports whether a run does round i (counting from 0). Under -benchtime=Nx it does N
// rounds (at most most). Otherwise it does def rounds, and more while they have taken less than
// -benchtime (at most most): b.N does not drive the work, and a call that ends early makes Go call
// the benchmark again with a larger b.N, which would redo everything and overwrite the report.
// So Go calls it once per -count.
func b3More(b *testing.B, i, def, most int) bool {
	if n, d := b3Benchtime(); n == 0 {
		return i < most && (i < def || b.Elapsed() < d)
	}
	return i < min(b.N, most)
}

// b3Benchtime is -benchtime: N of Nx, or else a duration (1s unless given).
func b3Benchtime() (int, time.Duration) {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return 0, time.Second
	}
	v := f.Value.String()
	if n, err := strconv.Atoi(strings.TrimSuffix(v, "x")); err == nil && strings.HasSuffix(v, "x") {
		return n, 0
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return 0, d
	}
	return 0, time.Second
}

// b3Env describes the machine and the filesystem a benchmark ran on.
type b3Env struct {
	Nested     bool      `json:"nested"` // no vmx/svm in /proc/cpuinfo: this host is itself a VM
	CPUs       int       `json:"cpus"`
	CPUModel   string    `json:"cpu_model"`
	Kernel     string    `json:"kernel"`
	QemuImg    string    `json:"qemu_img"`
	Filesystem string    `json:"filesystem"` // of the benchmark's temporary directory
	TempDir    string    `json:"temp_dir"`
	GoVersion  string    `json:"go"`
	Time       time.Time `json:"time"`
}

func b3Environment(b *testing.B, qemuImg, dir string) b3Env {
	b.Helper()
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	out, err := exec.Command(qemuImg, "--version").Output()
	if err != nil {
		b.Fatalf("qemu-img --version: %v", err)
	}
	version, _, _ := strings.Cut(string(out), "\n")
	e := b3Env{CPUs: runtime.NumCPU(), Kernel: strings.TrimSpace(string(kernel)),
		QemuImg: strings.TrimPrefix(version, "qemu-img version "), Filesystem: b3Filesystem(dir), TempDir: dir,
		GoVersion: runtime.Version(), Time: time.Now()}
	nested := true
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		k, v, ok := strings.Cut(line, ":")
		switch k = strings.TrimSpace(k); {
		case !ok:
		case k == "model name" && e.CPUModel == "":
			e.CPUModel = strings.TrimSpace(v)
		case k == "flags" && nested:
			nested = !slices.ContainsFunc(strings.Fields(v), func(f string) bool { return f == "vmx" || f == "svm" })
		}
	}
	e.Nested = nested
	return e
}

// b3Filesystem is "TYPE (SOURCE on MOUNTPOINT)" of the mount holding dir, from /proc/self/mountinfo.
func b3Filesystem(dir string) string {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "unknown: " + err.Error()
	}
	best, bestLen := "unknown", -1
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			continue
		}
		mnt := strings.ReplaceAll(fields[4], `\040`, " ")
		under := mnt == "/" || dir == mnt || strings.HasPrefix(dir, mnt+"/")
		if under && len(mnt) >= bestLen { // >=: the last of stacked mounts is the visible one
			best, bestLen = fmt.Sprintf("%s (%s on %s)", tail[0], tail[1], mnt), len(mnt)
		}
	}
	return best
}

func (e b3Env) markdown() string {
	return fmt.Sprintf("\nEnvironment: nested %v, %d CPUs (%s), kernel %s, qemu-img %s, temp dir %s on %s, %s, %s.\n",
		e.Nested, e.CPUs, e.CPUModel, e.Kernel, e.QemuImg, e.TempDir, e.Filesystem, e.GoVersion, e.Time.Format(time.RFC3339))
}

func b3Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func b3MedianMS(ds []time.Duration) float64 { return b3Median(b3MSList(ds)) }

func b3MSList(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d.Microseconds()) / 1000
	}
	return out
}

func b3JoinMS(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(parts, " ")
}

// b3Run runs a command and returns its stdout; it fails the benchmark on error.
func b3Run(b *testing.B, name string, args ...string) string {
	b.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
