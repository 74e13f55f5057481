package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// B7 settings. One pair is one boot of the cloudlet instance and one of the raw QEMU, each measuring
// b7Seconds of 4 KiB random reads then b7Seconds of random writes (about 20 s per side under TCG), so
// the default 3 pairs take about 2 minutes with the setup. -benchtime=Nx asks for N pairs.
const (
	b7Pairs     = 3
	b7MaxPairs  = 20
	b7Seconds   = 5
	b7VolumeGiB = 1
	b7Image     = "tg-iops"
	b7Marker    = "CLOUDLET-GUEST-IOPS "
	b7Warn      = "CLOUDLET-GUEST-WARN iops"
	b7Target    = 0.9
)

// BenchmarkB7GuestDiskIOPS measures 4 KiB random read and write IOPS (O_DIRECT, queue depth 1, the test
// guest's cloudlet-iops) in the guest on a cloudlet volume: (A) an instance started through the API with
// a 1 GiB volume cold-attached (vdb), and (B) raw qemu-system-x86_64 run by hand with the exact argv the
// daemon generated for that instance, on the same volume file. A and B alternate (A B A B …); it reports
// the medians of each side and the ratios A/B (target ≥ 0.9, reported, not asserted).
//
// B uses the very file of the volume, not a copy, while the instance is stopped (QEMU's image lock
// allows one writer): the same bytes, host file layout and page cache for both sides. The volume is
// filled once before the first pair, so every qcow2 cluster is allocated and each run, A or B, starts
// from the same state: reads hit data, not the unallocated-cluster shortcut, and writes overwrite
// without allocating. The guest's offsets come from a fixed seed, so both sides issue the same requests.
func BenchmarkB7GuestDiskIOPS(b *testing.B) {
	pairs := rounds(b, b7Pairs, b7MaxPairs)
	if pairs == 0 {
		return
	}
	setup := time.Now()
	c := newBenchCloud(b)
	raws := rawRoot(b)
	env := environment(b, c)
	g := GuestPaths(b)
	cmdline := fmt.Sprintf("console=ttyS0 panic=-1 no_timer_check cloudlet.iops=vdb:%d", b7Seconds)
	c.ImportImage(map[string]any{"name": b7Image, "path": g.Disk, "disk_format": "qcow2",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": cmdline})

	// Boot once without the volume (the guest waits for vdb in the background), stop, cold-attach it:
	// at the next boot it sits on a spare root port behind the boot disk, so the guest names it vdb.
	id := c.Create("b7", b7Image, noNIC).ID
	if _, err := waitMarker(c.consoleLog(id), ready, bootWait); err != nil {
		b.Fatalf("instance b7: %v", err)
	}
	b7Stop(b, c, id)
	var vol volumeView
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "b7-data", "size_gib": b7VolumeGiB}, &vol); err != nil {
		b.Fatalf("create volume: %v", err)
	}
	if err := c.Do("POST", "/api/v1/volumes/b7-data/attach", map[string]any{"instance": id}, nil); err != nil {
		b.Fatalf("cold attach: %v", err)
	}
	vol = c.volume("b7-data")
	fill := b7Fill(b, vol.Path, b7VolumeGiB)

	r := b7Report{Environment: env, Pairs: pairs, Seconds: b7Seconds, VolumeGiB: b7VolumeGiB, TargetRatio: b7Target,
		Cmdline: cmdline, VolumeFile: vol.Path, FillS: fill.Seconds()}
	r.SetupS = time.Since(setup).Seconds()
	b.ResetTimer()
	var tpl qemuTemplate
	for i := range pairs {
		a, inst := b7Cloudlet(b, c, id, i+1)
		if i == 0 {
			var err error
			if tpl, err = captureTemplate(c, inst); err != nil {
				b.Fatal(err)
			}
			if !argvMentions(tpl.argv, vol.Path) {
				b.Fatalf("the QEMU argv of instance b7 does not open the volume %s: %q", vol.Path, tpl.argv)
			}
			r.Argv = tpl.argv
		}
		b7Stop(b, c, id)
		r.cloudlet = append(r.cloudlet, a)
		r.raw = append(r.raw, b7Raw(b, tpl, filepath.Join(raws, strconv.Itoa(i))))
		b.Logf("pair %d: cloudlet read %.0f write %.0f, raw read %.0f write %.0f IOPS", i+1,
			a.Read, a.Write, r.raw[i].Read, r.raw[i].Write)
	}
	b.StopTimer()
	r.summarize()
	b.ReportMetric(1e9/r.Cloudlet.ReadIOPS, "ns/op") // one 4 KiB random read in the cloudlet guest, not per b.N
	b.ReportMetric(r.Cloudlet.ReadIOPS, "cloudlet-read-iops")
	b.ReportMetric(r.Cloudlet.WriteIOPS, "cloudlet-write-iops")
	b.ReportMetric(r.Baseline.ReadIOPS, "raw-read-iops")
	b.ReportMetric(r.Baseline.WriteIOPS, "raw-write-iops")
	b.ReportMetric(r.ReadRatio, "read-ratio")
	b.ReportMetric(r.WriteRatio, "write-ratio")
	writeReport(b, "b7", r, r.markdown())
}

// b7Run is one IOPS measurement in a guest.
type b7Run struct {
	Read  float64 `json:"read_iops"`
	Write float64 `json:"write_iops"`
	BootS float64 `json:"start_to_marker_s"` // start (API call or exec) → the IOPS marker, boot included
}

// b7Cloudlet starts the stopped instance through the API and waits for its n-th IOPS marker (the
// console log keeps every boot's). It returns the instance as it runs, QEMU still up.
func b7Cloudlet(b *testing.B, c *Cloud, id string, n int) (b7Run, compute.Instance) {
	b.Helper()
	start := time.Now()
	c.Act(id, "start")
	run, err := b7WaitIOPS(c.consoleLog(id), n, bootWait+4*b7Seconds*time.Second)
	if err != nil {
		b.Fatalf("instance b7: %v", err)
	}
	run.BootS = time.Since(start).Seconds()
	return run, c.WaitState(id, compute.VMActive, compute.PowerRunning, 10*time.Second)
}

// b7Stop stops the instance and waits until its QEMU is gone, which releases the volume's image lock.
func b7Stop(b *testing.B, c *Cloud, id string) {
	b.Helper()
	pid := c.Show(id).PID
	c.Act(id, "stop")
	c.WaitState(id, compute.VMStopped, compute.PowerShutdown, 60*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			b.Fatalf("QEMU pid %d of instance b7 still alive after stop", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// b7Raw starts the template by hand in dir (fresh run/state dirs and root overlay, the same volume file)
// and waits for its IOPS marker; the QEMU is killed before it returns.
func b7Raw(b *testing.B, tpl qemuTemplate, dir string) b7Run {
	b.Helper()
	vm, err := tpl.prepare(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer vm.kill()
	start := time.Now()
	if err := vm.start(); err != nil {
		b.Fatal(err)
	}
	if err := vm.cont(10 * time.Second); err != nil {
		b.Fatal(err)
	}
	run, err := b7WaitIOPS(vm.consoleLog, 1, bootWait+4*b7Seconds*time.Second)
	if err != nil {
		b.Fatalf("raw QEMU: %v (qemu log: %s)", err, vm.log())
	}
	run.BootS = time.Since(start).Seconds()
	return run
}

// b7WaitIOPS polls the console log at path until it holds n IOPS markers and parses the n-th; an iops
// warning from the guest ends the wait at once.
func b7WaitIOPS(path string, n int, limit time.Duration) (b7Run, error) {
	deadline := time.Now().Add(limit)
	var log string
	for {
		data, _ := os.ReadFile(path)
		log = string(data)
		if strings.Contains(log, b7Warn) {
			return b7Run{}, fmt.Errorf("guest failed to measure IOPS: %s", Tail(log, 1500))
		}
		var found []string
		for _, line := range strings.Split(log, "\n") {
			if i := strings.Index(line, b7Marker); i >= 0 {
				found = append(found, strings.TrimSpace(line[i:]))
			}
		}
		if len(found) >= n {
			return parseIOPS(found[n-1])
		}
		if time.Now().After(deadline) {
			return b7Run{}, fmt.Errorf("%d of %d %q markers in %s within %v: %s", len(found), n, b7Marker, path, limit, Tail(log, 1500))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// parseIOPS parses "CLOUDLET-GUEST-IOPS dev=<dev> read=<n> write=<n>".
func parseIOPS(line string) (b7Run, error) {
	fields := map[string]string{}
	for _, f := range strings.Fields(strings.TrimPrefix(line, b7Marker)) {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	read, err1 := strconv.ParseFloat(fields["read"], 64)
	write, err2 := strconv.ParseFloat(fields["write"], 64)
	if err1 != nil || err2 != nil || read <= 0 || write <= 0 || fields["dev"] != "vdb" {
		return b7Run{}, fmt.Errorf("bad IOPS marker %q: want dev=vdb and positive read= and write=", line)
	}
	return b7Run{Read: read, Write: write}, nil
}

// b7Fill writes a pattern over the whole volume with qemu-io (the instance is stopped), so that every
// cluster is allocated before the first measurement, and returns how long it took.
func b7Fill(b *testing.B, path string, gib int) time.Duration {
	b.Helper()
	start := time.Now()
	args := []string{"-f", "qcow2"}
	const chunk = 64 << 20
	for off := int64(0); off < int64(gib)<<30; off += chunk {
		args = append(args, "-c", fmt.Sprintf("write -q -P 0x5a %d %d", off, chunk))
	}
	out, err := exec.Command("qemu-io", append(args, path)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "error") {
		b.Fatalf("qemu-io fill of %s: %v: %s", path, err, out)
	}
	return time.Since(start)
}

// b7Report is b7.json.
type b7Report struct {
	Benchmark   string   `json:"benchmark"`
	Environment benchEnv `json:"environment"`
	Pairs       int      `json:"pairs"`
	Seconds     int      `json:"seconds_per_phase"` // reads for this long, then writes for this long
	VolumeGiB   int      `json:"volume_gib"`
	Method      string   `json:"method"`
	Baseline    b7Side   `json:"baseline"`
	Cloudlet    b7Side   `json:"cloudlet"`
	ReadRatio   float64  `json:"read_ratio"`  // cloudlet median / baseline median
	WriteRatio  float64  `json:"write_ratio"` // cloudlet median / baseline median
	// Paired*Ratio are the medians of A_i / B_i over the interleaved pairs.
	PairedReadRatio  float64  `json:"paired_read_ratio"`
	PairedWriteRatio float64  `json:"paired_write_ratio"`
	TargetRatio      float64  `json:"target_ratio"` // both ratios ≥ this
	Cmdline          string   `json:"guest_cmdline"`
	VolumeFile       string   `json:"volume_file"` // opened by both sides, one at a time
	FillS            float64  `json:"fill_s"`      // qemu-io preconditioning of the whole volume, before the pairs
	SetupS           float64  `json:"setup_s"`
	Argv             []string `json:"argv"` // the daemon's QEMU argv for the instance with the volume
	cloudlet, raw    []b7Run
}

type b7Side struct {
	What         string    `json:"what"`
	ReadIOPS     float64   `json:"median_read_iops"`
	WriteIOPS    float64   `json:"median_write_iops"`
	ReadSamples  []float64 `json:"read_samples"`
	WriteSamples []float64 `json:"write_samples"`
	StartS       float64   `json:"median_start_to_marker_s"`
}

func (r *b7Report) summarize() {
	r.Benchmark = "B7 guest 4 KiB random read/write IOPS on a cloudlet volume: API-started instance vs raw qemu-system-x86_64 with the daemon's argv"
	r.Method = fmt.Sprintf("cloudlet-iops in the test guest on vdb: O_DIRECT, 4 KiB, queue depth 1, fixed-seed random offsets over the whole "+
		"%d GiB device, %d s of reads then %d s of writes; the volume (qcow2, default pool) filled once beforehand; "+
		"baseline on the same volume file while the instance is stopped; pairs interleaved cloudlet, raw, cloudlet, raw, …",
		r.VolumeGiB, r.Seconds, r.Seconds)
	r.Cloudlet = b7SideOf("POST /api/v1/instances/{id}/start of the stopped instance with the volume cold-attached", r.cloudlet)
	r.Baseline = b7SideOf("exec of the daemon's argv (fresh run/state dirs and root overlay, same volume file) → QMP cont", r.raw)
	r.ReadRatio = r.Cloudlet.ReadIOPS / r.Baseline.ReadIOPS
	r.WriteRatio = r.Cloudlet.WriteIOPS / r.Baseline.WriteIOPS
	var reads, writes []float64
	for i := range r.cloudlet {
		reads = append(reads, r.cloudlet[i].Read/r.raw[i].Read)
		writes = append(writes, r.cloudlet[i].Write/r.raw[i].Write)
	}
	r.PairedReadRatio, r.PairedWriteRatio = medianOf(reads), medianOf(writes)
}

func b7SideOf(what string, runs []b7Run) b7Side {
	s := b7Side{What: what}
	var starts []float64
	for _, run := range runs {
		s.ReadSamples = append(s.ReadSamples, run.Read)
		s.WriteSamples = append(s.WriteSamples, run.Write)
		starts = append(starts, run.BootS)
	}
	s.ReadIOPS, s.WriteIOPS, s.StartS = medianOf(s.ReadSamples), medianOf(s.WriteSamples), medianOf(starts)
	return s
}

// medianOf is the median of v; 0 for none.
func medianOf(v []float64) float64 {
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

func (r *b7Report) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# B7: guest 4 KiB random IOPS on a cloudlet volume vs raw QEMU (%d interleaved pairs)\n\n", r.Pairs)
	fmt.Fprintf(&s, "%s.\n\n", r.Method)
	fmt.Fprintf(&s, "| | median read IOPS | median write IOPS | read samples | write samples | start → marker s |\n")
	fmt.Fprintf(&s, "|---|---:|---:|---|---|---:|\n")
	fmt.Fprintf(&s, "| cloudlet (API start) | %.0f | %.0f | %s | %s | %.1f |\n", r.Cloudlet.ReadIOPS, r.Cloudlet.WriteIOPS,
		joinMS(r.Cloudlet.ReadSamples), joinMS(r.Cloudlet.WriteSamples), r.Cloudlet.StartS)
	fmt.Fprintf(&s, "| raw QEMU (baseline) | %.0f | %.0f | %s | %s | %.1f |\n", r.Baseline.ReadIOPS, r.Baseline.WriteIOPS,
		joinMS(r.Baseline.ReadSamples), joinMS(r.Baseline.WriteSamples), r.Baseline.StartS)
	fmt.Fprintf(&s, "\n| result | value | target |\n|---|---:|---:|\n")
	fmt.Fprintf(&s, "| read ratio (cloudlet / baseline medians) | %.3f | ≥ %.2f |\n", r.ReadRatio, r.TargetRatio)
	fmt.Fprintf(&s, "| write ratio (cloudlet / baseline medians) | %.3f | ≥ %.2f |\n", r.WriteRatio, r.TargetRatio)
	fmt.Fprintf(&s, "| read ratio (median of paired ratios) | %.3f | |\n", r.PairedReadRatio)
	fmt.Fprintf(&s, "| write ratio (median of paired ratios) | %.3f | |\n", r.PairedWriteRatio)
	fmt.Fprintf(&s, "\nVolume fill before the pairs (qemu-io, %d GiB): %.1f s. Guest command line: `%s`.\n",
		r.VolumeGiB, r.FillS, r.Cmdline)
	s.WriteString(envMarkdown(r.Environment))
	return s.String()
}
