package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// B1 pairs per run: each pair is one API boot and one raw boot to the guest's ready marker (about 3 s
// each under TCG, plus a delete), after an untimed warm-up pair, so a run takes about 80 s.
// -benchtime=Nx asks for N pairs, at most b1MaxPairs.
const (
	b1Pairs    = 11
	b1MaxPairs = 50
)

// BenchmarkB1CreateToReadyVsRawQEMU measures, interleaved (A B A B …), (A) POST /instances → the guest's
// ready marker in the instance's console log, and (B) exec of the very argv the daemon used → QMP
// cont → the same marker, and reports the medians, their difference (control-plane overhead) and ratio.
// A includes what the daemon does before exec (catalog, overlay disk); B creates its overlay untimed.
// Targets from the issue, reported not asserted: overhead < 50 ms, ratio < 1.05.
func BenchmarkB1CreateToReadyVsRawQEMU(b *testing.B) {
	pairs := rounds(b, b1Pairs, b1MaxPairs)
	if pairs == 0 {
		return
	}
	c := newBenchCloud(b)
	raws := rawRoot(b)
	env := environment(b, c)

	// Warm-up pair, untimed: the first A also yields the argv; both warm the page cache.
	_, tpl := b1API(b, c, "b1-warm", true)
	b1Raw(b, tpl, filepath.Join(raws, "warm"))
	r := b1Report{Environment: env, Pairs: pairs, Argv: tpl.argv, Targets: b1Targets{OverheadMS: 50, Ratio: 1.05}}
	b.ResetTimer()
	for i := range pairs {
		a, _ := b1API(b, c, "b1-"+strconv.Itoa(i), false)
		r.api = append(r.api, a)
		r.raw = append(r.raw, b1Raw(b, tpl, filepath.Join(raws, strconv.Itoa(i))))
	}
	b.StopTimer()
	r.summarize()
	b.ReportMetric(r.Cloudlet.MedianMS*1e6, "ns/op") // per boot, not per b.N: see rounds
	b.ReportMetric(r.Cloudlet.MedianMS, "api-median-ms")
	b.ReportMetric(r.Baseline.MedianMS, "raw-median-ms")
	b.ReportMetric(r.OverheadMS, "overhead-ms")
	b.ReportMetric(r.Ratio, "ratio")
	b.ReportMetric(r.ContOverheadMS, "cont-overhead-ms")
	writeReport(b, "b1", r, r.markdown())
}

// b1Boot is one API boot: its time to the marker and its timeline, relative to just before the POST.
type b1Boot struct {
	total  time.Duration
	stages map[string]time.Duration // timeline stage → time since the POST was sent
}

// noNIC asks for an instance without any NIC, not even one on network default: the benchmarks compare
// it with raw QEMU, which has none.
var noNIC = map[string]any{"networks": []string{}}

// b1API boots one instance through the API, times it to the guest's marker, and deletes it (untimed).
// With capture it also returns the QEMU argv the daemon ran.
func b1API(b *testing.B, c *Cloud, name string, capture bool) (b1Boot, qemuTemplate) {
	b.Helper()
	start := time.Now()
	id := c.Create(name, kernelImage, noNIC).ID
	seen, err := waitMarker(c.consoleLog(id), ready, bootWait)
	if err != nil {
		b.Fatalf("instance %s: %v", name, err)
	}
	boot := b1Boot{total: seen.Sub(start), stages: map[string]time.Duration{}}
	inst := waitTimeline(b, c, id, compute.StageGuestReady)
	for _, s := range inst.Timeline {
		boot.stages[s.Name] = s.At.Sub(start)
	}
	var tpl qemuTemplate
	if capture {
		if tpl, err = captureTemplate(c, inst); err != nil {
			b.Fatal(err)
		}
	}
	c.DeleteAndWait(id)
	return boot, tpl
}

// waitTimeline polls (untimed) until the instance's timeline has stage: the daemon's console watcher
// records guest_ready a poll after the benchmark has seen the marker.
func waitTimeline(b *testing.B, c *Cloud, id, stage string) compute.Instance {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		inst := c.Show(id)
		for _, s := range inst.Timeline {
			if s.Name == stage && inst.VMState == compute.VMActive {
				return inst
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("instance %s: no %s stage within 10s: vm=%s timeline %v", id, stage, inst.VMState, inst.Timeline)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// b1Raw boots the template by hand in dir and times exec → marker; the QEMU is killed before it returns.
func b1Raw(b *testing.B, tpl qemuTemplate, dir string) b1Boot {
	b.Helper()
	prepared := time.Now()
	vm, err := tpl.prepare(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer vm.kill()
	start := time.Now()
	overlay := start.Sub(prepared)
	if err := vm.start(); err != nil {
		b.Fatal(err)
	}
	if err := vm.cont(10 * time.Second); err != nil {
		b.Fatal(err)
	}
	cont := time.Since(start)
	seen, err := waitMarker(vm.consoleLog, ready, bootWait)
	if err != nil {
		b.Fatalf("raw QEMU: %v (qemu log: %s)", err, vm.log())
	}
	return b1Boot{total: seen.Sub(start), stages: map[string]time.Duration{compute.StageCont: cont, stageOverlay: overlay}}
}

// b1Report is b1.json.
type b1Report struct {
	Benchmark   string    `json:"benchmark"`
	Environment benchEnv  `json:"environment"`
	Pairs       int       `json:"pairs"`
	Baseline    b1Side    `json:"baseline"`
	Cloudlet    b1Side    `json:"cloudlet"`
	OverheadMS  float64   `json:"overhead_ms"` // cloudlet median − baseline median
	Ratio       float64   `json:"ratio"`       // cloudlet median / baseline median
	Targets     b1Targets `json:"targets"`
	// PairedOverheadMS is the median of (A_i − B_i) over the interleaved pairs.
	PairedOverheadMS float64 `json:"paired_overhead_ms"`
	// ContOverheadMS is the control plane alone: (POST → cont answered) − (exec → cont answered). After
	// cont both sides run the same QEMU, and the guest's boot jitter under TCG (±100 ms and more)
	// dominates the totals.
	ContOverheadMS float64            `json:"cont_overhead_ms"`
	StagesMS       map[string]float64 `json:"cloudlet_stage_medians_ms"` // timeline stage → median ms after the POST
	Argv           []string           `json:"argv"`                      // the daemon's QEMU argv (of the warm-up instance)
	api, raw       []b1Boot
}

type b1Side struct {
	What      string    `json:"what"`
	MedianMS  float64   `json:"median_ms"`
	ContMS    float64   `json:"median_cont_ms"`              // start (POST or exec) → QMP cont answered
	OverlayMS float64   `json:"median_overlay_ms,omitempty"` // baseline: qemu-img create of the overlay, untimed
	SamplesMS []float64 `json:"samples_ms"`
}

type b1Targets struct {
	OverheadMS float64 `json:"overhead_ms"`
	Ratio      float64 `json:"ratio"`
}

// stageOverlay is the baseline's untimed overlay creation, reported for comparison with the daemon's.
const stageOverlay = "overlay"

// b1Stages are the timeline stages reported, in order.
var b1Stages = []string{compute.StageAccepted, compute.StageExec, compute.StageQMPReady, compute.StageCont,
	compute.StageFirstByte, compute.StageGuestReady}

func (r *b1Report) summarize() {
	r.Benchmark = "B1 create→guest ready marker: API vs raw qemu-system-x86_64 with the daemon's argv"
	r.Cloudlet = side("POST /api/v1/instances (image tg, m1.tiny) → CLOUDLET-GUEST-READY in console.log", r.api)
	r.Baseline = side("exec of the daemon's argv (fresh overlay and dirs) → QMP cont → CLOUDLET-GUEST-READY", r.raw)
	r.OverheadMS = r.Cloudlet.MedianMS - r.Baseline.MedianMS
	r.Ratio = r.Cloudlet.MedianMS / r.Baseline.MedianMS
	r.ContOverheadMS = r.Cloudlet.ContMS - r.Baseline.ContMS
	var diffs []time.Duration
	for i := range r.api {
		diffs = append(diffs, r.api[i].total-r.raw[i].total)
	}
	r.PairedOverheadMS = medianMS(diffs)
	r.StagesMS = map[string]float64{}
	for _, name := range b1Stages {
		r.StagesMS[name] = stageMedian(r.api, name)
	}
}

func stageMedian(boots []b1Boot, name string) float64 {
	var ds []time.Duration
	for _, bt := range boots {
		ds = append(ds, bt.stages[name])
	}
	return medianMS(ds)
}

func side(what string, boots []b1Boot) b1Side {
	var totals []time.Duration
	for _, bt := range boots {
		totals = append(totals, bt.total)
	}
	return b1Side{What: what, MedianMS: medianMS(totals), ContMS: stageMedian(boots, compute.StageCont),
		OverlayMS: stageMedian(boots, stageOverlay), SamplesMS: msList(totals)}
}

func (r *b1Report) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# B1: create → guest ready, API vs raw QEMU (%d interleaved pairs)\n\n", r.Pairs)
	fmt.Fprintf(&s, "| | median ms | → cont ms | samples ms |\n|---|---:|---:|---|\n")
	fmt.Fprintf(&s, "| cloudlet API | %.1f | %.1f | %s |\n", r.Cloudlet.MedianMS, r.Cloudlet.ContMS, joinMS(r.Cloudlet.SamplesMS))
	fmt.Fprintf(&s, "| raw QEMU (baseline) | %.1f | %.1f | %s |\n", r.Baseline.MedianMS, r.Baseline.ContMS, joinMS(r.Baseline.SamplesMS))
	fmt.Fprintf(&s, "\n| result | value | target |\n|---|---:|---:|\n")
	fmt.Fprintf(&s, "| overhead (difference of medians) | %.1f ms | < %.0f ms |\n", r.OverheadMS, r.Targets.OverheadMS)
	fmt.Fprintf(&s, "| ratio (cloudlet / baseline) | %.3f | < %.2f |\n", r.Ratio, r.Targets.Ratio)
	fmt.Fprintf(&s, "| overhead (median of paired differences) | %.1f ms | |\n", r.PairedOverheadMS)
	fmt.Fprintf(&s, "| control plane to cont (POST→cont − exec→cont) | %.1f ms | |\n", r.ContOverheadMS)
	fmt.Fprintf(&s, "\n| cloudlet timeline stage | median ms after POST |\n|---|---:|\n")
	for _, name := range b1Stages {
		fmt.Fprintf(&s, "| %s | %.1f |\n", name, r.StagesMS[name])
	}
	fmt.Fprintf(&s, "\nBaseline overlay (qemu-img create, outside its timing): median %.1f ms.\n", r.Baseline.OverlayMS)
	s.WriteString(envMarkdown(r.Environment))
	return s.String()
}

func joinMS(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, " ")
}
