package e2e

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/qemu"
)

// B2 cycle counts. A cycle takes about 50-100 ms here, so the default run does the 500 cloudlet
// cycles and 500 raw ones in under a minute; -benchtime=Nx asks for N cycles each (at most
// b2MaxCycles), e.g. -benchtime=100x for a quick look or -benchtime=5000x for a soak.
const (
	b2Cycles    = 500
	b2MaxCycles = 5000
	b2Block     = 20                    // cycles per interleaved block: cloudlet, raw, cloudlet, raw, …
	b2Sample    = 100                   // daemon footprint sampled after every b2Sample cloudlet cycles
	b2Poll      = 10 * time.Millisecond // API polling interval while waiting for running and for 404
)

// BenchmarkB2Churn runs create → running → delete cycles through the API with runtime.NumCPU() workers
// against one daemon and, interleaved in blocks of b2Block cycles, raw QEMU cycles with the same argv
// shape (qemu-img overlay, exec, QMP cont, SIGKILL, remove dirs). It reports cycles/s, the ratio to the
// raw rate, and the growth of the daemon's RSS, open fds and threads between the first and last sample.
// Threads stand in for goroutines, which the daemon does not expose.
func BenchmarkB2Churn(b *testing.B) {
	cycles := rounds(b, b2Cycles, b2MaxCycles)
	if cycles == 0 {
		return
	}
	c := newBenchCloud(b)
	raws := rawRoot(b)
	r := b2Report{Environment: environment(b, c), Cycles: cycles, Concurrency: runtime.NumCPU(), Block: b2Block}
	pid := c.D.Cmd.Process.Pid

	tpl := b2WarmUp(b, c, raws)
	start := time.Now()
	r.sample(b, pid, 0, start)
	var cloudTime, rawTime time.Duration
	var cloudCycles, rawCycles []b2Cycle
	b.ResetTimer()
	for done := 0; done < cycles; {
		n := min(b2Block, cycles-done)
		d, lat, err := b2RunBlock(r.Concurrency, done, n, func(i int) (b2Cycle, error) {
			return b2CloudletCycle(c, "b2-"+strconv.Itoa(i), nil)
		})
		if err != nil {
			b.Fatal(err)
		}
		cloudTime, cloudCycles = cloudTime+d, append(cloudCycles, lat...)
		d, lat, err = b2RunBlock(r.Concurrency, done, n, func(i int) (b2Cycle, error) {
			return b2RawCycle(tpl, filepath.Join(raws, strconv.Itoa(i)))
		})
		if err != nil {
			b.Fatal(err)
		}
		rawTime, rawCycles = rawTime+d, append(rawCycles, lat...)
		done += n
		if done%b2Sample == 0 || done == cycles {
			r.sample(b, pid, done, start)
		}
	}
	b.StopTimer()
	r.summarize(cloudTime, rawTime, cloudCycles, rawCycles)
	r.LeftoverQEMU = leftoverQEMU(b, c)
	b.ReportMetric(float64(cloudTime.Nanoseconds())/float64(cycles), "ns/op") // per cycle, not per b.N
	b.ReportMetric(r.Cloudlet.CyclesPerS, "cycles/s")
	b.ReportMetric(r.Cloudlet.CyclesPerSPerCore, "cycles/s/core")
	b.ReportMetric(r.Baseline.CyclesPerS, "raw-cycles/s")
	b.ReportMetric(r.Ratio, "ratio")
	b.ReportMetric(float64(r.Growth.RSSKiB), "rss-growth-KiB")
	b.ReportMetric(float64(r.Growth.FDs), "fd-growth")
	b.ReportMetric(float64(r.Growth.Threads), "thread-growth")
	writeReport(b, "b2", r, r.markdown())
}

// b2WarmUp runs one untimed cycle of each kind; the cloudlet one yields the argv the raw cycles run.
func b2WarmUp(b *testing.B, c *Cloud, raws string) qemuTemplate {
	b.Helper()
	var tpl qemuTemplate
	_, err := b2CloudletCycle(c, "b2-warm", func(inst compute.Instance) (err error) {
		tpl, err = captureTemplate(c, inst)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := b2RawCycle(tpl, filepath.Join(raws, "warm")); err != nil {
		b.Fatal(err)
	}
	return tpl
}

// b2Cycle is one cycle's two halves: up to running (cont answered), and from delete (kill) to gone.
type b2Cycle struct{ up, down time.Duration }

// b2RunBlock runs cycles first … first+n-1 on workers goroutines and returns the block's wall time and
// each cycle's latencies. The first error stops the workers from taking more cycles.
func b2RunBlock(workers, first, n int, cycle func(i int) (b2Cycle, error)) (time.Duration, []b2Cycle, error) {
	var next atomic.Int64
	var mu sync.Mutex // guards lat and errs
	var lat []b2Cycle
	var errs []error
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				cy, err := cycle(first + i)
				mu.Lock()
				lat, errs = append(lat, cy), append(errs, err)
				mu.Unlock()
				if err != nil {
					next.Store(int64(n))
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), lat, errors.Join(errs...)
}

// b2CloudletCycle creates an instance, polls until it runs, deletes it and polls until it is gone.
// onRunning, if set, is called with the running instance before the delete.
func b2CloudletCycle(c *Cloud, name string, onRunning func(compute.Instance) error) (b2Cycle, error) {
	start := time.Now()
	var inst compute.Instance
	req := map[string]any{"name": name, "image": kernelImage, "flavor": "m1.tiny", "networks": []string{}} // like raw QEMU: no NIC
	if err := c.Do("POST", "/api/v1/instances", req, &inst); err != nil {
		return b2Cycle{}, fmt.Errorf("create %s: %w", name, err)
	}
	running, err := b2WaitRunning(c, inst.ID)
	if err != nil {
		return b2Cycle{}, fmt.Errorf("instance %s: %w", name, err)
	}
	cy := b2Cycle{up: time.Since(start)}
	if onRunning != nil {
		if err := onRunning(running); err != nil {
			return cy, err
		}
	}
	deleted := time.Now()
	if err := c.Do("DELETE", "/api/v1/instances/"+inst.ID, nil, nil); err != nil {
		return cy, fmt.Errorf("delete %s: %w", name, err)
	}
	err = b2WaitGone(c, inst.ID)
	cy.down = time.Since(deleted)
	return cy, err
}

func b2WaitRunning(c *Cloud, id string) (compute.Instance, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		inst, err := c.showQuick(id)
		switch {
		case err != nil:
			return inst, err
		case inst.VMState == compute.VMActive && inst.PowerState == compute.PowerRunning && inst.TaskState == "":
			return inst, nil
		case inst.VMState == compute.VMError:
			return inst, fmt.Errorf("went to error: %s", inst.Fault)
		case time.Now().After(deadline):
			return inst, fmt.Errorf("not running within 60s: vm=%s task=%q power=%s", inst.VMState, inst.TaskState, inst.PowerState)
		}
		time.Sleep(b2Poll)
	}
}

func b2WaitGone(c *Cloud, id string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := c.showQuick(id)
		switch {
		case isNotFound(err):
			return nil
		case err != nil:
			return err
		case time.Now().After(deadline):
			return fmt.Errorf("instance %s not deleted within 60s", id)
		}
		time.Sleep(b2Poll)
	}
}

// b2RawCycle does by hand what one cloudlet cycle makes the daemon do: overlay, exec, QMP cont, kill,
// remove the directories.
func b2RawCycle(tpl qemuTemplate, dir string) (b2Cycle, error) {
	start := time.Now()
	vm, err := tpl.prepare(dir)
	if err != nil {
		return b2Cycle{}, err
	}
	err = vm.start()
	if err == nil {
		err = vm.cont(30 * time.Second)
	}
	cy := b2Cycle{up: time.Since(start)}
	killed := time.Now()
	vm.kill()
	cy.down = time.Since(killed)
	return cy, err
}

// leftoverQEMU counts QEMUs still running from the daemon's run dir after the churn (want 0).
func leftoverQEMU(b *testing.B, c *Cloud) int {
	found, err := qemu.Scan(filepath.Join(c.D.RunDir, "instances"))
	if err != nil {
		b.Fatalf("scan for QEMU: %v", err)
	}
	return len(found)
}

// b2Report is b2.json.
type b2Report struct {
	Benchmark    string       `json:"benchmark"`
	Environment  benchEnv     `json:"environment"`
	Cycles       int          `json:"cycles"` // of each side
	Concurrency  int          `json:"concurrency"`
	Block        int          `json:"block"` // cycles per interleaved block
	Baseline     b2Side       `json:"baseline"`
	Cloudlet     b2Side       `json:"cloudlet"`
	Ratio        float64      `json:"ratio"` // cloudlet cycles/s ÷ raw cycles/s
	Samples      []procStatus `json:"daemon_samples"`
	Growth       procStatus   `json:"daemon_growth"` // last sample − first sample
	LeftoverQEMU int          `json:"leftover_qemu"`
	Note         string       `json:"note"`
}

type b2Side struct {
	What              string  `json:"what"`
	CyclesPerS        float64 `json:"cycles_per_s"`
	CyclesPerSPerCore float64 `json:"cycles_per_s_per_core"`
	MedianCycleMS     float64 `json:"median_cycle_ms"`
	MedianUpMS        float64 `json:"median_up_ms"`   // start → running seen (cloudlet) or cont answered (raw)
	MedianDownMS      float64 `json:"median_down_ms"` // DELETE → 404 seen (cloudlet) or SIGKILL → reaped, dirs removed (raw)
	SecondsTotal      float64 `json:"seconds_total"`
}

func (r *b2Report) sample(b *testing.B, pid, cycles int, start time.Time) {
	b.Helper()
	s, err := readProcStatus(pid)
	if err != nil {
		b.Fatalf("daemon pid %d: %v", pid, err)
	}
	s.Cycles, s.ElapsedS = cycles, int64(time.Since(start).Seconds())
	r.Samples = append(r.Samples, s)
}

func (r *b2Report) summarize(cloudTime, rawTime time.Duration, cloudLat, rawLat []b2Cycle) {
	r.Benchmark = "B2 churn: create→running→delete cycles through the API vs raw QEMU start→cont→kill"
	r.Cloudlet = r.side("POST → vm_state active, power running (polled) → DELETE → 404 (polled), image tg, m1.tiny",
		cloudTime, cloudLat)
	r.Baseline = r.side("qemu-img overlay → exec of the daemon's argv → QMP cont → SIGKILL → remove dirs", rawTime, rawLat)
	r.Ratio = r.Cloudlet.CyclesPerS / r.Baseline.CyclesPerS
	first, last := r.Samples[0], r.Samples[len(r.Samples)-1]
	r.Growth = procStatus{Cycles: last.Cycles - first.Cycles, RSSKiB: last.RSSKiB - first.RSSKiB,
		FDs: last.FDs - first.FDs, Threads: last.Threads - first.Threads, ElapsedS: last.ElapsedS - first.ElapsedS}
	r.Note = "threads (from /proc/<pid>/status) stand in for goroutines: the daemon exposes no goroutine count"
}

func (r *b2Report) side(what string, total time.Duration, cycles []b2Cycle) b2Side {
	var all, up, down []time.Duration
	for _, cy := range cycles {
		all, up, down = append(all, cy.up+cy.down), append(up, cy.up), append(down, cy.down)
	}
	rate := float64(r.Cycles) / total.Seconds()
	return b2Side{What: what, CyclesPerS: rate, CyclesPerSPerCore: rate / float64(r.Environment.CPUs),
		MedianCycleMS: medianMS(all), MedianUpMS: medianMS(up), MedianDownMS: medianMS(down), SecondsTotal: total.Seconds()}
}

func (r *b2Report) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# B2: churn, %d cycles each side, concurrency %d, interleaved in blocks of %d\n\n",
		r.Cycles, r.Concurrency, r.Block)
	fmt.Fprintf(&s, "| | cycles/s | cycles/s per core | median cycle ms | median up ms | median down ms |\n|---|---:|---:|---:|---:|---:|\n")
	for _, row := range []struct {
		name string
		side b2Side
	}{{"cloudlet API", r.Cloudlet}, {"raw QEMU (baseline)", r.Baseline}} {
		fmt.Fprintf(&s, "| %s | %.2f | %.2f | %.1f | %.1f | %.1f |\n", row.name, row.side.CyclesPerS,
			row.side.CyclesPerSPerCore, row.side.MedianCycleMS, row.side.MedianUpMS, row.side.MedianDownMS)
	}
	fmt.Fprintf(&s, "\nRatio (cloudlet / raw cycles per second): %.3f. QEMUs left under the daemon's run dir: %d.\n",
		r.Ratio, r.LeftoverQEMU)
	fmt.Fprintf(&s, "\n| daemon after cycles | RSS KiB | open fds | threads* | elapsed s |\n|---:|---:|---:|---:|---:|\n")
	for _, x := range r.Samples {
		fmt.Fprintf(&s, "| %d | %d | %d | %d | %d |\n", x.Cycles, x.RSSKiB, x.FDs, x.Threads, x.ElapsedS)
	}
	g := r.Growth
	fmt.Fprintf(&s, "| growth | %+d | %+d | %+d | |\n", g.RSSKiB, g.FDs, g.Threads)
	fmt.Fprintf(&s, "\n\\* %s.\n", r.Note)
	s.WriteString(envMarkdown(r.Environment))
	return s.String()
}
