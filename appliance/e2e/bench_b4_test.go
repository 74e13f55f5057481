package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/metering"
)

// B4 settings. One round is a fresh daemon measured idle, then with b4Instances running instances;
// -benchtime=Nx asks for N rounds (at most b4MaxRounds), each about four to six minutes under TCG.
const (
	b4Instances   = 20
	b4MaxRounds   = 5
	b4Samples     = 5                      // RSS readings per state, b4SampleGap apart; the median is reported
	b4SampleGap   = 200 * time.Millisecond // between RSS readings
	b4Flavor      = "b4.nano"              // 1 vCPU, 128 MiB: the smallest the test guest boots in
	b4FlavorRAM   = 128
	b4TargetIdle  = 25 << 10                       // KiB: idle daemon RSS under 25 MiB
	b4TargetPerVM = 256                            // KiB: daemon RSS per running instance under 256 KiB
	b4GCWait      = 2*time.Minute + 15*time.Second // past the runtime's forced GC (every 2 min) and some scavenging
	quietWindow   = time.Second
	// b4SampleRounds is how many sampling rounds (at the default sample_interval) the sampler's CPU
	// cost is measured over, with sampling on and then off.
	b4SampleRounds = 6
	// A process is quiet when it uses under quietCPU per quietWindow (10% of a core): the work its start
	// or the last change set off is done. Not less: with 10k instances the daemon's health checks alone
	// use about 5% of a core.
	quietCPU = 100 * time.Millisecond
)

// BenchmarkB4Footprint measures the daemon's resident memory (VmRSS of the cloudlet process, not QEMU's)
// in three states: right after its first start (which hashes the generated admin password); idle, after
// the test guest is imported and the daemon restarted on its data dir (the state a host is in most of
// the time: no instance, nothing in flight); and with b4Instances instances of the test guest running
// (TCG, a 128 MiB flavor, one NIC each on the default network, each guest booted to its ready marker).
// The per-instance overhead is (loaded − idle) / b4Instances, read once the boots are over and again
// b4GCWait later, past the Go runtime's forced GC. The baseline, measured in the same run at
// the same moments, is a minimal Go HTTP server (net/http on a unix socket, built by the benchmark with
// the same toolchain): the Go runtime's own floor. Each state is read only once the daemon is quiet (its
// CPU time stops moving), b4Samples times; medians are reported. Targets, reported not asserted: idle
// under 25 MiB, under 256 KiB per instance.
func BenchmarkB4Footprint(b *testing.B) {
	runs := rounds(b, 1, b4MaxRounds)
	if runs == 0 {
		return
	}
	floor := startFloorServer(b)
	r := b4Report{Instances: b4Instances, Samples: b4Samples, TargetIdleKiB: b4TargetIdle, TargetPerInstanceKiB: b4TargetPerVM}
	b.ResetTimer()
	for i := range runs {
		round := b4Round(b, floor)
		b.Logf("round %d: first start %d KiB, idle %d KiB, %d instances %d KiB → %.0f KiB per instance (%.0f settled); Go floor %d KiB",
			i+1, round.FirstStart.RSSKiB, round.Idle.RSSKiB, b4Instances, round.Loaded.RSSKiB, round.PerInstanceKiB,
			round.PerInstanceSettledKiB, round.Idle.FloorKiB)
		b.Logf("round %d: daemon CPU over %d sampling rounds: %.0f ms sampling, %.0f ms not", i+1, b4SampleRounds,
			round.SamplingOnCPUMs, round.SamplingOffCPUMs)
		r.Rounds = append(r.Rounds, round)
	}
	b.StopTimer()
	r.Environment = r.Rounds[0].env
	r.summarize()
	b.ReportMetric(float64(r.IdleKiB)/1024, "idle-MiB")
	b.ReportMetric(float64(r.FloorKiB)/1024, "go-floor-MiB")
	b.ReportMetric(r.PerInstanceKiB, "KiB/instance")
	b.ReportMetric(r.PerInstanceSetKiB, "settled-KiB/instance")
	b.ReportMetric(r.SamplingMsPerRound, "sampling-cpu-ms/round")
	b.ReportMetric(r.SamplingRatio, "sampling-on/off-cpu")
	writeReport(b, "b4", r, r.markdown())
}

// b4Unlimited lifts every quota an instance counts against.
var b4Unlimited = map[string]int64{"instances": -1, "cores": -1, "ram": -1, "volumes": -1, "gigabytes": -1, "ports": -1}

// b4Round is one fresh daemon taken through the three states.
func b4Round(b *testing.B, floor *floorServer) b4RoundResult {
	b.Helper()
	d := NewDaemon(b, cloudletBin)
	d.Start(b)
	d.WaitReady(b)
	defer func() { // the next round starts from a machine without this round's guests
		d.Kill()
		reapQEMU(b, filepath.Join(d.RunDir, "instances"))
	}()
	c := CloudOf(b, d)
	round := b4RoundResult{env: environment(b, c)}
	round.FirstStart = b4Sample(b, "first start", d.Cmd.Process.Pid, floor)

	if err := c.Do("PUT", "/api/v1/quotas/admin", map[string]any{"limits": b4Unlimited}, nil); err != nil {
		b.Fatalf("lift the admin project's quotas: %v", err)
	}
	if err := c.Do("POST", "/api/v1/flavors", map[string]any{"name": b4Flavor, "vcpus": 1, "ram_mib": b4FlavorRAM, "disk_gib": 1}, nil); err != nil {
		b.Fatalf("create flavor %s: %v", b4Flavor, err)
	}
	g := GuestPaths(b)
	c.ImportImage(map[string]any{"name": kernelImage, "path": g.Disk, "disk_format": "qcow2",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": "console=ttyS0 panic=-1 no_timer_check"})
	stopDaemon(b, d)
	d.Start(b)
	d.WaitReady(b)
	pid := d.Cmd.Process.Pid
	round.Idle = b4Sample(b, "idle", pid, floor)

	started := time.Now()
	ids := b4Boot(b, c)
	round.BootS = time.Since(started).Seconds()
	round.Loaded = b4Sample(b, "loaded", pid, floor)
	round.QEMURSSKiB = qemuRSS(b, c, ids)
	round.PerInstanceKiB = float64(round.Loaded.RSSKiB-round.Idle.RSSKiB) / b4Instances
	// The boots leave garbage on the heap that a quiet daemon has no reason to collect; the Go runtime
	// forces a GC every two minutes, and its scavenger then returns what the heap no longer needs.
	time.Sleep(b4GCWait)
	round.Settled = b4Sample(b, "settled", pid, floor)
	round.PerInstanceSettledKiB = float64(round.Settled.RSSKiB-round.Idle.RSSKiB) / b4Instances
	on, off := b4SamplingCost(b, d)
	round.SamplingOnCPUMs, round.SamplingOffCPUMs = float64(on.Milliseconds()), float64(off.Milliseconds())
	return round
}

// b4SamplingCost is the daemon's CPU time over b4SampleRounds sampling rounds with the instances
// running: as it runs (sampling on, the default), then restarted on the same data dir with
// sample_instances off (the instances keep running), over as long a span once it is quiet again.
func b4SamplingCost(b *testing.B, d *Daemon) (on, off time.Duration) {
	b.Helper()
	span := b4SampleRounds * metering.DefaultInterval
	on = cpuOver(b, d.Cmd.Process.Pid, span)
	stopDaemon(b, d)
	cfg := filepath.Join(b.TempDir(), "no-sampling.json")
	if err := os.WriteFile(cfg, []byte(`{"sample_instances": false}`), 0o600); err != nil {
		b.Fatal(err)
	}
	d.Start(b, "--config", cfg)
	d.WaitReady(b)
	if err := waitQuiet(d.Cmd.Process.Pid, 5*time.Minute); err != nil {
		b.Fatalf("restarted without sampling: %v", err)
	}
	return on, cpuOver(b, d.Cmd.Process.Pid, span)
}

// cpuOver is the CPU time pid uses over span.
func cpuOver(b *testing.B, pid int, span time.Duration) time.Duration {
	b.Helper()
	before, err := cpuTime(pid)
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(span)
	after, err := cpuTime(pid)
	if err != nil {
		b.Fatal(err)
	}
	return after - before
}

// b4Boot creates the instances at once and waits until every guest printed its ready marker and runs.
func b4Boot(b *testing.B, c *Cloud) []string {
	b.Helper()
	var ids []string
	for i := range b4Instances {
		req := map[string]any{"name": "b4-" + strconv.Itoa(i), "image": kernelImage, "flavor": b4Flavor}
		var inst compute.Instance
		if err := c.Do("POST", "/api/v1/instances", req, &inst); err != nil {
			b.Fatalf("create instance b4-%d: %v", i, err)
		}
		ids = append(ids, inst.ID)
	}
	limit := bootWait * b4Instances / 4 // they boot side by side on few cores
	for _, id := range ids {
		if _, err := waitMarker(c.consoleLog(id), ready, limit); err != nil {
			b.Fatalf("instance %s: %v", id, err)
		}
		c.WaitState(id, compute.VMActive, compute.PowerRunning, time.Minute)
	}
	return ids
}

// b4Sample waits until the daemon is quiet, then reads the daemon's and the floor server's RSS
// b4Samples times, alternately, and keeps the medians.
func b4Sample(b *testing.B, state string, pid int, floor *floorServer) b4State {
	b.Helper()
	if err := waitQuiet(pid, 5*time.Minute); err != nil {
		b.Fatalf("%s: %v", state, err)
	}
	floor.poke(b) // both processes have just served a request: neither is measured straight after a GC
	var daemon, base, anons []float64
	var last procStatus
	for i := range b4Samples {
		if i > 0 {
			time.Sleep(b4SampleGap)
		}
		st, err := readProcStatus(pid)
		if err != nil {
			b.Fatalf("daemon pid %d: %v", pid, err)
		}
		fl, err := readProcStatus(floor.cmd.Process.Pid)
		if err != nil {
			b.Fatalf("floor server: %v", err)
		}
		anon, err := rssAnon(pid)
		if err != nil {
			b.Fatalf("daemon pid %d: %v", pid, err)
		}
		daemon, base, anons, last = append(daemon, float64(st.RSSKiB)), append(base, float64(fl.RSSKiB)), append(anons, float64(anon)), st
	}
	return b4State{RSSKiB: int64(medianOf(daemon)), AnonKiB: int64(medianOf(anons)), FloorKiB: int64(medianOf(base)),
		FDs: last.FDs, Threads: last.Threads}
}

// rssAnon is RssAnon of /proc/<pid>/status: the process's own memory (heap, stacks), without the
// pages of its binary and of the catalog file it maps, which VmRSS also counts.
func rssAnon(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no RssAnon in /proc/%d/status", pid)
}

// qemuRSS sums the VmRSS of the instances' QEMU processes, for scale next to the daemon's.
func qemuRSS(b *testing.B, c *Cloud, ids []string) int64 {
	b.Helper()
	var sum int64
	for _, id := range ids {
		st, err := readProcStatus(c.Show(id).PID)
		if err != nil {
			b.Fatalf("QEMU of instance %s: %v", id, err)
		}
		sum += st.RSSKiB
	}
	return sum
}

// floorServer is the baseline: the smallest Go program that serves HTTP on a unix socket.
type floorServer struct {
	cmd    *exec.Cmd
	client *http.Client
}

const floorSource = `package main

import (
	"net"
	"net/http"
	"os"
)

func main() {
	l, err := net.Listen("unix", os.Args[1])
	if err != nil {
		panic(err)
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{\"status\":\"ok\"}\n"))
	})
	panic(http.Serve(l, nil))
}
`

// startFloorServer builds and starts the floor server; cleanup kills it.
func startFloorServer(b *testing.B) *floorServer {
	b.Helper()
	dir := b.TempDir()
	for name, content := range map[string]string{"main.go": floorSource, "go.mod": "module floor\n\ngo 1.21\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", "floor", ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build the floor server: %v: %s", err, out)
	}
	sock, err := os.MkdirTemp("", "b4floor")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(sock) })
	path := filepath.Join(sock, "s")
	f := &floorServer{cmd: exec.Command(filepath.Join(dir, "floor"), path), client: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}}}
	if err := f.cmd.Start(); err != nil {
		b.Fatalf("start the floor server: %v", err)
	}
	b.Cleanup(func() { f.cmd.Process.Kill(); f.cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for f.get() != nil {
		if time.Now().After(deadline) {
			b.Fatalf("the floor server does not answer on %s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return f
}

func (f *floorServer) get() error {
	resp, err := f.client.Get("http://floor/healthz")
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func (f *floorServer) poke(b *testing.B) {
	b.Helper()
	if err := f.get(); err != nil {
		b.Fatalf("floor server: %v", err)
	}
}

// waitQuiet waits until the process used less than quietCPU of CPU time in each of two consecutive
// quietWindows: it has finished what its start or the last change set off.
func waitQuiet(pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	calm := 0
	prev, err := cpuTime(pid)
	for err == nil && calm < 2 {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still busy after %v", pid, limit)
		}
		time.Sleep(quietWindow)
		var now time.Duration
		if now, err = cpuTime(pid); now-prev < quietCPU {
			calm++
		} else {
			calm = 0
		}
		prev = now
	}
	return err
}

// cpuPercent is the process's CPU use over window, in percent of one core (-1 if unreadable).
func cpuPercent(pid int, window time.Duration) float64 {
	before, err1 := cpuTime(pid)
	time.Sleep(window)
	after, err2 := cpuTime(pid)
	if err1 != nil || err2 != nil {
		return -1
	}
	return 100 * float64(after-before) / float64(window)
}

// cpuTime is utime+stime of pid from /proc/<pid>/stat (USER_HZ = 100 on Linux).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat: %q", pid, s)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// b4Report is b4.json.
type b4Report struct {
	Benchmark          string   `json:"benchmark"`
	Environment        benchEnv `json:"environment"`
	Method             string   `json:"method"`
	Instances          int      `json:"instances"`
	Samples            int      `json:"rss_samples_per_state"`
	FirstStartKiB      int64    `json:"median_first_start_rss_kib"`
	IdleKiB            int64    `json:"median_idle_rss_kib"`
	FloorKiB           int64    `json:"median_go_floor_rss_kib"`
	IdleOverFloorKiB   int64    `json:"median_idle_over_floor_kib"`
	PerInstanceKiB     float64  `json:"median_per_instance_kib"`
	PerInstanceAnonKiB float64  `json:"median_per_instance_anon_kib"`
	PerInstanceSetKiB  float64  `json:"median_per_instance_settled_kib"`
	// The sampler's cost: the daemon's CPU per sampling round of b4Instances instances (on − off),
	// and its CPU with sampling on over off.
	SamplingMsPerRound   float64         `json:"median_sampling_cpu_ms_per_round"`
	SamplingRatio        float64         `json:"median_sampling_on_over_off_cpu"`
	TargetIdleKiB        int64           `json:"target_idle_kib"`
	TargetPerInstanceKiB float64         `json:"target_per_instance_kib"`
	Rounds               []b4RoundResult `json:"rounds"`
}

type b4RoundResult struct {
	FirstStart     b4State `json:"first_start"` // catalog made, admin password hashed, default network up
	Idle           b4State `json:"idle"`        // restarted with the test guest imported, no instance
	Loaded         b4State `json:"loaded"`      // with the instances running, once quiet
	Settled        b4State `json:"settled"`     // the same b4GCWait later: past a forced GC
	PerInstanceKiB float64 `json:"per_instance_kib"`
	// PerInstanceSettledKiB is (settled − idle) / instances.
	PerInstanceSettledKiB float64  `json:"per_instance_settled_kib"`
	BootS                 float64  `json:"boot_all_s"`          // create of all → last one ready and running
	QEMURSSKiB            int64    `json:"qemu_rss_kib"`        // sum over the instances' QEMUs, for scale
	SamplingOnCPUMs       float64  `json:"sampling_on_cpu_ms"`  // daemon CPU over b4SampleRounds rounds, sampling on
	SamplingOffCPUMs      float64  `json:"sampling_off_cpu_ms"` // the same span, restarted with sampling off
	env                   benchEnv // the first round's goes in the report
}

type b4State struct {
	RSSKiB   int64 `json:"daemon_rss_kib"`
	AnonKiB  int64 `json:"daemon_rss_anon_kib"` // of RSSKiB: heap and stacks, not file pages
	FloorKiB int64 `json:"go_floor_rss_kib"`
	FDs      int   `json:"daemon_fds"`
	Threads  int   `json:"daemon_threads"`
}

func (r *b4Report) summarize() {
	r.Benchmark = "B4 footprint: cloudlet daemon RSS idle and per running instance, vs a minimal Go HTTP server"
	r.Method = fmt.Sprintf("VmRSS (and its RssAnon part) from /proc/<pid>/status of the cloudlet process only (QEMU excluded), "+
		"read %d times %v apart once the daemon's CPU time stops moving, alternating with the baseline (a net/http server on a "+
		"unix socket, built with the same Go); idle = restarted daemon with the test guest imported and no instance; per "+
		"instance = (RSS with %d running instances − idle RSS) / %d; instances: test guest, TCG, flavor %s (1 vCPU, %d MiB), "+
		"one NIC on the default network, booted to the guest's ready marker; sampling cost = the daemon's CPU time "+
		"(utime+stime) over %d rounds of the default sample_interval with the instances running, as started (sampling on), "+
		"then restarted on the same data dir with sample_instances off, once quiet, over as long",
		r.Samples, b4SampleGap, r.Instances, r.Instances, b4Flavor, b4FlavorRAM, b4SampleRounds)
	var first, idle, floor, per, perAnon, perSet, sampling, ratio []float64
	for _, x := range r.Rounds {
		sampling = append(sampling, (x.SamplingOnCPUMs-x.SamplingOffCPUMs)/b4SampleRounds)
		ratio = append(ratio, x.SamplingOnCPUMs/max(x.SamplingOffCPUMs, 1))
		first, idle, floor = append(first, float64(x.FirstStart.RSSKiB)), append(idle, float64(x.Idle.RSSKiB)), append(floor, float64(x.Idle.FloorKiB))
		per, perAnon = append(per, x.PerInstanceKiB), append(perAnon, float64(x.Loaded.AnonKiB-x.Idle.AnonKiB)/float64(r.Instances))
		perSet = append(perSet, x.PerInstanceSettledKiB)
	}
	r.FirstStartKiB, r.IdleKiB, r.FloorKiB = int64(medianOf(first)), int64(medianOf(idle)), int64(medianOf(floor))
	r.PerInstanceKiB, r.PerInstanceAnonKiB, r.PerInstanceSetKiB = medianOf(per), medianOf(perAnon), medianOf(perSet)
	r.IdleOverFloorKiB = r.IdleKiB - r.FloorKiB
	r.SamplingMsPerRound, r.SamplingRatio = medianOf(sampling), medianOf(ratio)
}

func (r *b4Report) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# B4: daemon footprint, idle and with %d running instances (%d rounds)\n\n", r.Instances, len(r.Rounds))
	fmt.Fprintf(&s, "%s.\n\n", r.Method)
	fmt.Fprintf(&s, "| result (medians over rounds) | value | target |\n|---|---:|---:|\n")
	fmt.Fprintf(&s, "| daemon idle RSS | %.1f MiB | < %d MiB |\n", float64(r.IdleKiB)/1024, r.TargetIdleKiB>>10)
	fmt.Fprintf(&s, "| minimal Go HTTP server RSS (baseline) | %.1f MiB | |\n", float64(r.FloorKiB)/1024)
	fmt.Fprintf(&s, "| daemon idle RSS above the baseline | %.1f MiB | |\n", float64(r.IdleOverFloorKiB)/1024)
	fmt.Fprintf(&s, "| daemon RSS per running instance | %.0f KiB | < %.0f KiB |\n", r.PerInstanceKiB, r.TargetPerInstanceKiB)
	fmt.Fprintf(&s, "| of which anonymous (heap, stacks) | %.0f KiB | |\n", r.PerInstanceAnonKiB)
	fmt.Fprintf(&s, "| daemon RSS per running instance, %v later (past a forced GC) | %.0f KiB | < %.0f KiB |\n", b4GCWait,
		r.PerInstanceSetKiB, r.TargetPerInstanceKiB)
	fmt.Fprintf(&s, "| daemon RSS right after its first start | %.1f MiB | |\n", float64(r.FirstStartKiB)/1024)
	fmt.Fprintf(&s, "| daemon CPU per sampling round of %d instances (sampling on − off, over %d rounds of %v) | %.1f ms | |\n",
		r.Instances, b4SampleRounds, metering.DefaultInterval, r.SamplingMsPerRound)
	fmt.Fprintf(&s, "| daemon CPU with sampling on / off (same span, same instances) | %.2f× | |\n", r.SamplingRatio)
	fmt.Fprintf(&s, "\n| round | first start KiB | idle KiB (anon) | %d instances KiB (anon) | settled KiB (anon) | per instance KiB, quiet / settled | baseline KiB | fds idle → loaded | threads idle → loaded | QEMU RSS total MiB | boot all s |\n",
		r.Instances)
	fmt.Fprintf(&s, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, x := range r.Rounds {
		fmt.Fprintf(&s, "| %d | %d | %d (%d) | %d (%d) | %d (%d) | %.0f / %.0f | %d | %d → %d | %d → %d | %.0f | %.0f |\n", i+1,
			x.FirstStart.RSSKiB, x.Idle.RSSKiB, x.Idle.AnonKiB, x.Loaded.RSSKiB, x.Loaded.AnonKiB, x.Settled.RSSKiB, x.Settled.AnonKiB,
			x.PerInstanceKiB, x.PerInstanceSettledKiB, x.Idle.FloorKiB,
			x.Idle.FDs, x.Loaded.FDs, x.Idle.Threads, x.Loaded.Threads, float64(x.QEMURSSKiB)/1024, x.BootS)
	}
	s.WriteString("\nThe first start hashes the admin password it generates with argon2id (64 MiB); the Go runtime keeps " +
		"that memory until a later GC returns it, so the first-start figure is not the idle one.\n")
	s.WriteString(envMarkdown(r.Environment))
	return s.String()
}
