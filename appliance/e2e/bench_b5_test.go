package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/store"
)

// B5 settings. One block is b5Pairs interleaved pairs at each catalog size; -benchtime=Nx asks for N
// blocks (at most b5MaxBlocks). A 10k list takes a few hundred ms here, so a block takes well under a
// minute; seeding and the daemon's restarts (it reattaches every instance at start) take longer.
const (
	b5Pairs     = 15
	b5MaxBlocks = 10
	b5TargetMS  = 100 // median of the API list of 10k instances
	b5SeedBatch = 1000
)

// b5Sizes are the catalog sizes measured, in order: each is seeded on top of the one before.
var b5Sizes = []int{1000, 10000}

// BenchmarkB5CatalogList measures, at 1k and 10k instances, (A) GET /api/v1/instances as admin over the
// unix socket, whole body read, against (B) an in-process read-only View of a copy of the same catalog
// file: a cursor scan decoding every instance record (Kind.ForEach) and json.Marshal of the slice,
// interleaved A B A B …, and reports the medians and their ratio. The records are written straight
// into the catalog while the daemon is stopped, so no QEMU boots: they are stopped instances shaped like
// real ones (flavor copy, boot spec, timeline, an address). Target, reported not asserted: the 10k list
// under 100 ms median. It also reports what the daemon does with that many instances: time from start
// to a quiet daemon (it reattaches every instance) and its RSS once quiet.
func BenchmarkB5CatalogList(b *testing.B) {
	blocks := rounds(b, 1, b5MaxBlocks)
	if blocks == 0 {
		return
	}
	d := NewDaemon(b, cloudletBin)
	d.Start(b)
	d.WaitReady(b)
	c := CloudOf(b, d)
	r := b5Report{Environment: environment(b, c), Pairs: blocks * b5Pairs, TargetMS: b5TargetMS}
	tpl := b5Template(b, c)
	stopDaemon(b, d)

	b.ResetTimer()
	seeded := 0
	for _, n := range b5Sizes {
		b.StopTimer()
		b5Seed(b, d.DataDir, tpl, seeded, n)
		seeded = n
		b.StartTimer()
		size := b5Measure(b, c, n, r.Pairs)
		b.Logf("%d instances: API median %.1f ms, scan+encode median %.1f ms, ratio %.2f", n,
			size.API.MedianMS, size.Baseline.MedianMS, size.Ratio)
		r.Sizes = append(r.Sizes, size)
	}
	b.StopTimer()
	r.summarize()
	last := r.Sizes[len(r.Sizes)-1]
	b.ReportMetric(last.API.MedianMS*1e6, "ns/op") // one list of 10k through the API, not per b.N
	for _, s := range r.Sizes {
		b.ReportMetric(s.API.MedianMS, fmt.Sprintf("api-%d-ms", s.Instances))
		b.ReportMetric(s.Baseline.MedianMS, fmt.Sprintf("scan-%d-ms", s.Instances))
		b.ReportMetric(s.Ratio, fmt.Sprintf("ratio-%d", s.Instances))
	}
	writeReport(b, "b5", r, r.markdown())
}

// b5Template is the record every seeded instance copies: a stopped m1.tiny instance of the admin project
// with the fields a real one has after a boot.
func b5Template(b *testing.B, c *Cloud) compute.Instance {
	b.Helper()
	var projects []struct{ ID, Name string }
	if err := c.Do("GET", "/api/v1/projects", nil, &projects); err != nil {
		b.Fatalf("list projects: %v", err)
	}
	var admin string
	for _, p := range projects {
		if p.Name == "admin" {
			admin = p.ID
		}
	}
	var flavor compute.Flavor
	if err := c.Do("GET", "/api/v1/flavors/m1.tiny", nil, &flavor); err != nil || admin == "" {
		b.Fatalf("admin project %q, flavor m1.tiny: %v", admin, err)
	}
	at := time.Now().UTC()
	var timeline []compute.Stage
	for i, s := range []string{compute.StageAccepted, compute.StageExec, compute.StageQMPReady, compute.StageCont,
		compute.StageFirstByte, compute.StageGuestReady} {
		timeline = append(timeline, compute.Stage{Name: s, At: at.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	return compute.Instance{Meta: store.Meta{ProjectID: admin}, Flavor: flavor, ImageID: store.NewID(),
		VMState: compute.VMStopped, PowerState: compute.PowerShutdown, RestartPolicy: compute.RestartNever,
		LaunchedAt: &at, Timeline: timeline, Networks: []string{"default"},
		Addresses: []compute.Address{{Network: "default", IP: "10.0.0.10", MAC: "fa:16:3e:00:00:10"}},
		Boot: compute.BootSpec{Kernel: "/var/lib/cloudlet/images/kernel", Initrd: "/var/lib/cloudlet/images/initrd",
			Cmdline: "console=ttyS0 panic=-1", Firmware: "bios"}}
}

// b5Seed writes instances from … to-1 into the stopped daemon's catalog, copies of tpl with their own
// IDs and names, in transactions of b5SeedBatch records.
func b5Seed(b *testing.B, dataDir string, tpl compute.Instance, from, to int) {
	b.Helper()
	db, err := store.Open(filepath.Join(dataDir, "catalog.db"), store.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		b.Fatalf("open the catalog to seed it: %v", err)
	}
	defer db.Close()
	kind := store.NewKind[compute.Instance](store.BucketInstances, store.ScopeProject)
	for lo := from; lo < to; lo += b5SeedBatch {
		err := db.Update(func(tx *store.Tx) error {
			for i := lo; i < min(lo+b5SeedBatch, to); i++ {
				inst := tpl
				inst.Meta = store.Meta{ID: store.NewID(), Name: fmt.Sprintf("b5-%05d", i), ProjectID: tpl.ProjectID}
				if err := kind.Create(tx, &inst); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("seed instances %d…%d: %v", lo, to, err)
		}
	}
}

// stopDaemon stops the daemon with SIGTERM and waits for it to exit, which releases the catalog's lock.
func stopDaemon(b *testing.B, d *Daemon) {
	b.Helper()
	if err := d.Signal(syscall.SIGTERM); err != nil {
		b.Fatalf("stop the daemon: %v", err)
	}
	if _, ok := d.Wait(time.Minute); !ok {
		b.Fatalf("the daemon did not exit within a minute of SIGTERM")
	}
}

// b5Measure copies the seeded catalog for the baseline, starts the daemon on it, waits until it is
// quiet, runs the interleaved pairs after one untimed warm-up of each side, and stops the daemon.
func b5Measure(b *testing.B, c *Cloud, n, pairs int) b5Size {
	b.Helper()
	copyPath := filepath.Join(b.TempDir(), "catalog.db")
	if err := copyFile(filepath.Join(c.D.DataDir, "catalog.db"), copyPath); err != nil {
		b.Fatalf("copy the catalog: %v", err)
	}
	db, err := store.Open(copyPath, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatalf("open the catalog copy: %v", err)
	}
	defer db.Close()

	started := time.Now()
	c.D.Start(b)
	c.D.WaitReady(b)
	size := b5Size{Instances: n, ReadyS: time.Since(started).Seconds()}
	pid := c.D.Cmd.Process.Pid
	if err := waitQuiet(pid, 10*time.Minute); err != nil {
		b.Fatal(err)
	}
	size.QuietS = time.Since(started).Seconds()
	b.Logf("%d instances: daemon ready after %.1f s, quiet after %.1f s", n, size.ReadyS, size.QuietS)
	if st, err := readProcStatus(pid); err == nil {
		size.DaemonRSSKiB = st.RSSKiB
	}
	size.DaemonIdleCPUPct = cpuPercent(pid, 2*time.Second)

	api, scan := b5APIList(b, c, n), b5ScanEncode(b, db, n)
	size.APIBytes, size.ScanBytes = api.bytes, scan.bytes
	var a, s []time.Duration
	for range pairs {
		a = append(a, b5APIList(b, c, n).took)
		s = append(s, b5ScanEncode(b, db, n).took)
	}
	size.API = b5SideOf(a)
	size.Baseline = b5SideOf(s)
	size.Ratio = size.API.MedianMS / size.Baseline.MedianMS
	stopDaemon(b, c.D)
	return size
}

// b5Run is one list: how long it took and how many bytes of JSON it gave.
type b5Run struct {
	took  time.Duration
	bytes int
}

// b5APIList is GET /api/v1/instances over the unix socket, timed from before the request to the last
// byte of the body. The first call (the warm-up) also checks that the answer holds the n instances.
func b5APIList(b *testing.B, c *Cloud, n int) b5Run {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://cloudlet/api/v1/instances", nil)
	if err != nil {
		b.Fatal(err)
	}
	c.C.Authorize(req)
	start := time.Now()
	resp, err := c.C.HTTPClient().Do(req)
	if err != nil {
		b.Fatalf("list instances: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("list instances = %d (%v): %.300s", resp.StatusCode, err, body)
	}
	if !strings.Contains(string(body), fmt.Sprintf(`"b5-%05d"`, n-1)) {
		b.Fatalf("the list of %d bytes does not hold instance b5-%05d", len(body), n-1)
	}
	return b5Run{took: took, bytes: len(body)}
}

// b5ScanEncode is the baseline: in one read transaction on the catalog copy, decode every instance
// record with a cursor scan and encode the slice as JSON.
func b5ScanEncode(b *testing.B, db *store.DB, n int) b5Run {
	b.Helper()
	kind := store.NewKind[compute.Instance](store.BucketInstances, store.ScopeProject)
	start := time.Now()
	var out []byte
	err := db.View(func(tx *store.Tx) error {
		all := make([]*compute.Instance, 0, n)
		if err := kind.ForEach(tx, func(i *compute.Instance) error { all = append(all, i); return nil }); err != nil {
			return err
		}
		var err error
		out, err = json.Marshal(all)
		return err
	})
	took := time.Since(start)
	if err != nil {
		b.Fatalf("scan and encode the catalog copy: %v", err)
	}
	if got := strings.Count(string(out), `"vm_state"`); got != n {
		b.Fatalf("scan of the catalog copy found %d instances, want %d", got, n)
	}
	return b5Run{took: took, bytes: len(out)}
}

// b5Report is b5.json.
type b5Report struct {
	Benchmark   string   `json:"benchmark"`
	Environment benchEnv `json:"environment"`
	Pairs       int      `json:"pairs"` // per size
	Method      string   `json:"method"`
	TargetMS    float64  `json:"target_ms"` // API median for the largest size under this
	Sizes       []b5Size `json:"sizes"`
}

type b5Size struct {
	Instances int     `json:"instances"`
	API       b5Side  `json:"cloudlet"`
	Baseline  b5Side  `json:"baseline"`
	Ratio     float64 `json:"ratio"` // API median / baseline median
	APIBytes  int     `json:"api_body_bytes"`
	ScanBytes int     `json:"baseline_json_bytes"`
	// The daemon with this many instances: start → /healthz answers, start → quiet (it reattaches every
	// instance), its RSS and CPU use once quiet.
	ReadyS           float64 `json:"daemon_start_to_ready_s"`
	QuietS           float64 `json:"daemon_start_to_quiet_s"`
	DaemonRSSKiB     int64   `json:"daemon_rss_kib_quiet"`
	DaemonIdleCPUPct float64 `json:"daemon_idle_cpu_pct"`
}

type b5Side struct {
	MedianMS float64   `json:"median_ms"`
	MinMS    float64   `json:"min_ms"`
	MaxMS    float64   `json:"max_ms"`
	Samples  []float64 `json:"samples_ms"`
}

func b5SideOf(ds []time.Duration) b5Side {
	s := b5Side{MedianMS: medianMS(ds), Samples: msList(ds)}
	s.MinMS, s.MaxMS = s.Samples[0], s.Samples[0]
	for _, v := range s.Samples {
		s.MinMS, s.MaxMS = min(s.MinMS, v), max(s.MaxMS, v)
	}
	return s
}

func (r *b5Report) summarize() {
	r.Benchmark = "B5 catalog scale: list 1k and 10k instances through the API vs an in-process cursor scan + JSON encode"
	r.Method = fmt.Sprintf("stopped instances written straight into the catalog while the daemon was down (no QEMU), all in the "+
		"admin project; A: GET /api/v1/instances as admin over the unix socket, request → last byte of the body; "+
		"B: in the benchmark process, a read-only View of a copy of the same catalog file, Kind.ForEach decoding "+
		"every record + json.Marshal of the slice; one untimed warm-up each, then %d pairs A B A B … per size", r.Pairs)
}

func (r *b5Report) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# B5: catalog scale, list instances through the API vs cursor scan + JSON encode (%d interleaved pairs per size)\n\n", r.Pairs)
	fmt.Fprintf(&s, "%s.\n\n", r.Method)
	fmt.Fprintf(&s, "| instances | API median ms | API min–max ms | scan+encode median ms | scan+encode min–max ms | ratio | body bytes | target |\n")
	fmt.Fprintf(&s, "|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, z := range r.Sizes {
		target := ""
		if z.Instances == b5Sizes[len(b5Sizes)-1] {
			target = fmt.Sprintf("API median < %.0f ms", r.TargetMS)
		}
		fmt.Fprintf(&s, "| %d | %.1f | %.1f–%.1f | %.1f | %.1f–%.1f | %.2f | %d | %s |\n", z.Instances, z.API.MedianMS,
			z.API.MinMS, z.API.MaxMS, z.Baseline.MedianMS, z.Baseline.MinMS, z.Baseline.MaxMS, z.Ratio, z.APIBytes, target)
	}
	fmt.Fprintf(&s, "\n| daemon with | start → ready s | start → quiet s | RSS MiB (quiet) | CPU %% (quiet) |\n|---:|---:|---:|---:|---:|\n")
	for _, z := range r.Sizes {
		fmt.Fprintf(&s, "| %d instances | %.1f | %.1f | %.1f | %.1f |\n", z.Instances, z.ReadyS, z.QuietS,
			float64(z.DaemonRSSKiB)/1024, z.DaemonIdleCPUPct)
	}
	s.WriteString(envMarkdown(r.Environment))
	return s.String()
}
