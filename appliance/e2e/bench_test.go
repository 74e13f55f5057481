package e2e

// Benchmarks B1 and B2 of TESTING.md against the real daemon and real QEMU. Each compares cloudlet
// with a raw-QEMU baseline measured in the same run, interleaved, and writes <name>.json and <name>.md
// into $BENCH_OUT (default: bench-out at the repository root). This file holds what they share: the
// daemon, the console-marker poller, /proc readings, the environment and the report writers.
//
// They only run under -bench (make bench); `go test ./...` compiles them and nothing else.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/host"
	"cloudlet/internal/testkit"
	"cloudlet/web/client"
)

// markerPoll is how often both sides look at a console log: the same poller for cloudlet and the
// baseline, so its detection latency cancels out of the difference.
const markerPoll = 5 * time.Millisecond

// newBenchCloud is newCloud for benchmarks: a daemon with the test guest imported, no config file.
func newBenchCloud(b *testing.B) *Cloud {
	b.Helper()
	d := NewDaemon(b, cloudletBin)
	d.Start(b)
	d.WaitReady(b)
	c := CloudOf(b, d)
	// Benchmarks run as many instances at once as the host has CPUs: the default quotas must not cap them.
	unlimited := map[string]int64{"instances": -1, "cores": -1, "ram": -1, "volumes": -1, "gigabytes": -1, "ports": -1}
	if err := c.Do("PUT", "/api/v1/quotas/admin", map[string]any{"limits": unlimited}, nil); err != nil {
		b.Fatalf("lift the admin project's quotas: %v", err)
	}
	g := GuestPaths(b)
	c.ImportImage(map[string]any{"name": kernelImage, "path": g.Disk, "disk_format": "qcow2",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": testGuestCmdline})
	return c
}

// consoleLog is where the daemon keeps an instance's serial console output.
func (c *Cloud) consoleLog(id string) string {
	return filepath.Join(c.D.DataDir, "instances", id, "console.log")
}

// waitMarker polls the file at path every markerPoll until marker appears in it and returns that moment.
// The file may not exist yet when it starts.
func waitMarker(path, marker string, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var seen []byte // the tail that could hold the start of a marker split across reads
	buf := make([]byte, 64<<10)
	for {
		if f == nil {
			f, _ = os.Open(path)
		}
		for f != nil {
			n, err := f.Read(buf)
			seen = append(seen, buf[:n]...)
			if bytes.Contains(seen, []byte(marker)) {
				return time.Now(), nil
			}
			seen = seen[max(0, len(seen)-len(marker)):]
			if n == 0 || err != nil {
				break
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%q not in %s within %v", marker, path, limit)
		}
		time.Sleep(markerPoll)
	}
}

// procStatus is one sample of a process's footprint from /proc.
type procStatus struct {
	Cycles   int   `json:"cycles"`
	RSSKiB   int64 `json:"rss_kib"`
	FDs      int   `json:"fds"`
	Threads  int   `json:"threads"` // stands in for goroutines: the daemon does not expose a goroutine count
	ElapsedS int64 `json:"elapsed_s"`
}

// readProcStatus reads VmRSS and Threads from /proc/<pid>/status and counts /proc/<pid>/fd.
func readProcStatus(pid int) (procStatus, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStatus{}, err
	}
	var s procStatus
	for _, line := range strings.Split(string(data), "\n") {
		key, val, _ := strings.Cut(line, ":")
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		switch key {
		case "VmRSS":
			s.RSSKiB, _ = strconv.ParseInt(fields[0], 10, 64)
		case "Threads":
			s.Threads, _ = strconv.Atoi(fields[0])
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return procStatus{}, err
	}
	s.FDs = len(fds)
	return s, nil
}

// benchEnv describes the machine a benchmark ran on.
type benchEnv struct {
	Accel     string    `json:"accel"`
	Nested    bool      `json:"nested"` // no vmx/svm in /proc/cpuinfo: this host is itself a VM
	CPUs      int       `json:"cpus"`
	CPUModel  string    `json:"cpu_model"`
	Kernel    string    `json:"kernel"`
	QEMU      string    `json:"qemu"`
	GoVersion string    `json:"go"`
	Time      time.Time `json:"time"`
}

func environment(b *testing.B, c *Cloud) benchEnv {
	b.Helper()
	var info host.Info
	if err := c.Do("GET", "/api/v1/host", nil, &info); err != nil {
		b.Fatalf("GET /api/v1/host: %v", err)
	}
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	e := benchEnv{Accel: info.Accel, Nested: !hasCPUFlag(string(cpuinfo), "vmx", "svm"), CPUs: runtime.NumCPU(),
		Kernel: strings.TrimSpace(string(kernel)), QEMU: info.QEMU.Version, GoVersion: runtime.Version(), Time: time.Now()}
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			e.CPUModel = strings.TrimSpace(v)
			break
		}
	}
	return e
}

func hasCPUFlag(cpuinfo string, flags ...string) bool {
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, f := range strings.Fields(v) {
			if slices.Contains(flags, f) {
				return true
			}
		}
	}
	return false
}

// rounds is how many iterations a benchmark run does: def by default, N (at most most) under
// -benchtime=Nx. Each iteration boots or churns real QEMU, so b.N does not drive the work: at the default
// -benchtime=1s Go calls the benchmark once with b.N=1, that call takes longer than a second, and Go
// stops. Under -benchtime=Nx Go first makes a probe call with b.N=1 whose result it throws away; rounds
// returns 0 for it, so the work is done once, not twice. Use Nx, not a longer duration, to ask for more.
func rounds(b *testing.B, def, most int) int {
	if n := benchtimeCount(); n > 0 {
		if n > 1 && b.N == 1 {
			return 0
		}
		return min(b.N, most)
	}
	return min(max(b.N, def), most)
}

// benchtimeCount is N of -benchtime=Nx, or 0 for a duration.
func benchtimeCount() int {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSuffix(f.Value.String(), "x"))
	if err != nil || !strings.HasSuffix(f.Value.String(), "x") {
		return 0
	}
	return n
}

// median of ds in milliseconds; 0 for none.
func medianMS(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return ms(m)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func msList(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}

// writeReport writes <name>.json and <name>.md where every benchmark's reports go (testkit.WriteReport).
func writeReport(b *testing.B, name string, report any, markdown string) {
	b.Helper()
	testkit.WriteReport(b, name, report, markdown)
}

// envMarkdown is the environment line every report's table ends with.
func envMarkdown(e benchEnv) string {
	return fmt.Sprintf("\nEnvironment: accel %s, nested %v, %d CPUs (%s), kernel %s, QEMU %s, %s, %s.\n",
		e.Accel, e.Nested, e.CPUs, e.CPUModel, e.Kernel, e.QEMU, e.GoVersion, e.Time.Format(time.RFC3339))
}

// isNotFound reports whether err is the API's 404.
func isNotFound(err error) bool {
	var apiErr *client.Error
	return errors.As(err, &apiErr) && apiErr.Code == 404
}

// showQuick is show with a short timeout and the error returned, for tight polling loops.
func (c *Cloud) showQuick(id string) (compute.Instance, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var inst compute.Instance
	err := c.C.Do(ctx, "GET", "/api/v1/instances/"+id, nil, &inst)
	return inst, err
}
