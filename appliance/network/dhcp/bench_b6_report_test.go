package dhcp

// B6's report: summary statistics, b6-dhcp.json and b6-dhcp.md. The run-length and output-directory
// helpers are those of appliance/e2e/bench_test.go, which a unit-test package cannot import.

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// b6Report is b6-dhcp.json.
type b6Report struct {
	Benchmark   string   `json:"benchmark"`
	Environment b6Env    `json:"environment"`
	Rounds      int      `json:"rounds"` // interleaved exchanges with each server
	Baseline    b6Result `json:"baseline"`
	Cloudlet    b6Result `json:"cloudlet"`
	Ratios      b6Ratios `json:"ratios"` // cloudlet / baseline
	Target      float64  `json:"target"` // largest ratio of medians that is "no slower"
	Met         bool     `json:"met"`    // both ratios of medians within Target
}

type b6Result struct {
	What       string    `json:"what"`
	Offer      b6Stats   `json:"discover_to_offer"`
	Ack        b6Stats   `json:"request_to_ack"`
	OfferBytes int       `json:"offer_bytes"` // DHCP payload
	AckBytes   int       `json:"ack_bytes"`
	Lease      leaseView `json:"lease"` // what the last ACK said, to check the configs are equivalent
}

type b6Stats struct {
	MedianUS float64 `json:"median_us"`
	P95US    float64 `json:"p95_us"`
	MinUS    float64 `json:"min_us"`
	MaxUS    float64 `json:"max_us"`
}

type b6Ratios struct {
	OfferMedian float64 `json:"offer_median"`
	OfferP95    float64 `json:"offer_p95"`
	AckMedian   float64 `json:"ack_median"`
	AckP95      float64 `json:"ack_p95"`
}

func b6Summarize(env b6Env, rounds int, a, d *b6Side) b6Report {
	r := b6Report{Benchmark: "B6 DHCP: DISCOVER→OFFER and REQUEST→ACK at the client, cloudlet's server vs dnsmasq",
		Environment: env, Rounds: rounds, Cloudlet: a.result(), Baseline: d.result(), Target: 1.0}
	r.Ratios = b6Ratios{
		OfferMedian: r.Cloudlet.Offer.MedianUS / r.Baseline.Offer.MedianUS,
		OfferP95:    r.Cloudlet.Offer.P95US / r.Baseline.Offer.P95US,
		AckMedian:   r.Cloudlet.Ack.MedianUS / r.Baseline.Ack.MedianUS,
		AckP95:      r.Cloudlet.Ack.P95US / r.Baseline.Ack.P95US,
	}
	r.Met = r.Ratios.OfferMedian <= r.Target && r.Ratios.AckMedian <= r.Target
	return r
}

func (s *b6Side) result() b6Result {
	return b6Result{What: s.what, Offer: b6StatsOf(s.offers), Ack: b6StatsOf(s.acks),
		OfferBytes: s.offerLen, AckBytes: s.ackLen, Lease: s.view}
}

func b6StatsOf(ds []time.Duration) b6Stats {
	if len(ds) == 0 {
		return b6Stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	p95 := s[(len(s)*95+99)/100-1] // nearest rank
	return b6Stats{MedianUS: us(med), P95US: us(p95), MinUS: us(s[0]), MaxUS: us(s[len(s)-1])}
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func (r *b6Report) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# B6: DHCP exchange time at the client, cloudlet vs dnsmasq (%d interleaved exchanges each)\n\n", r.Rounds)
	fmt.Fprintf(&s, "| server | DISCOVER→OFFER median µs | p95 µs | REQUEST→ACK median µs | p95 µs | OFFER / ACK bytes |\n")
	fmt.Fprintf(&s, "|---|---:|---:|---:|---:|---:|\n")
	for _, x := range []struct {
		name string
		res  b6Result
	}{{"cloudlet", r.Cloudlet}, {"dnsmasq (baseline)", r.Baseline}} {
		fmt.Fprintf(&s, "| %s | %.0f | %.0f | %.0f | %.0f | %d / %d |\n", x.name, x.res.Offer.MedianUS, x.res.Offer.P95US,
			x.res.Ack.MedianUS, x.res.Ack.P95US, x.res.OfferBytes, x.res.AckBytes)
	}
	fmt.Fprintf(&s, "\n| result | value | target |\n|---|---:|---:|\n")
	fmt.Fprintf(&s, "| DISCOVER→OFFER ratio of medians (cloudlet / dnsmasq) | %.2f | ≤ %.1f |\n", r.Ratios.OfferMedian, r.Target)
	fmt.Fprintf(&s, "| REQUEST→ACK ratio of medians | %.2f | ≤ %.1f |\n", r.Ratios.AckMedian, r.Target)
	fmt.Fprintf(&s, "| DISCOVER→OFFER ratio of p95 | %.2f | |\n", r.Ratios.OfferP95)
	fmt.Fprintf(&s, "| REQUEST→ACK ratio of p95 | %.2f | |\n", r.Ratios.AckP95)
	fmt.Fprintf(&s, "| met (no slower) | %v | |\n", r.Met)
	fmt.Fprintf(&s, "\nEach server is alone on a lab bridge of its own (same shape: bridge with the server's address, a veth to a guest namespace);"+
		" the client there sends with a raw socket, without the broadcast flag, and times from the send to the read of the reply."+
		" cloudlet: %s. Baseline: `%s`.\n", r.Cloudlet.What, r.Baseline.What)
	s.WriteString("\ncloudlet's reservation lookup here is an in-memory table: the daemon's (a catalog read per message) is not measured." +
		" dnsmasq runs with --no-ping, which cloudlet's behaviour matches (no ICMP check before an OFFER).\n")
	s.WriteString(r.Environment.markdown())
	return s.String()
}

// b6Env describes the machine the benchmark ran on.
type b6Env struct {
	Nested    bool      `json:"nested"` // no vmx/svm in /proc/cpuinfo: this host is itself a VM
	CPUs      int       `json:"cpus"`
	CPUModel  string    `json:"cpu_model"`
	Kernel    string    `json:"kernel"`
	Dnsmasq   string    `json:"dnsmasq"`
	GoVersion string    `json:"go"`
	Time      time.Time `json:"time"`
}

func b6Environment(b *testing.B, dnsmasq string) b6Env {
	b.Helper()
	out, err := exec.Command(dnsmasq, "--version").Output()
	if err != nil {
		b.Fatalf("%s --version: %v", dnsmasq, err)
	}
	version, _, _ := strings.Cut(string(out), "  ")
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	e := b6Env{Nested: true, CPUs: runtime.NumCPU(), Kernel: strings.TrimSpace(string(kernel)),
		Dnsmasq: strings.TrimPrefix(version, "Dnsmasq version "), GoVersion: runtime.Version(), Time: time.Now()}
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		k, v, ok := strings.Cut(line, ":")
		switch k = strings.TrimSpace(k); {
		case !ok:
		case k == "model name" && e.CPUModel == "":
			e.CPUModel = strings.TrimSpace(v)
		case k == "flags" && e.Nested:
			e.Nested = !slices.ContainsFunc(strings.Fields(v), func(f string) bool { return f == "vmx" || f == "svm" })
		}
	}
	return e
}

func (e b6Env) markdown() string {
	return fmt.Sprintf("\nEnvironment: nested %v, %d CPUs (%s), kernel %s, dnsmasq %s, %s, %s.\n",
		e.Nested, e.CPUs, e.CPUModel, e.Kernel, e.Dnsmasq, e.GoVersion, e.Time.Format(time.RFC3339))
}

// b6Probe reports whether this call is Go's throwaway b.N=1 probe under -benchtime=Nx (N > 1),
// which does no work.
func b6Probe(b *testing.B) bool {
	n, _ := b6Benchtime()
	return n > 1 && b.N == 1
}

// b6More reports whether a run does round i (counting from 0). Under -benchtime=Nx it does N
// rounds (at most most). Otherwise it does def rounds, and more while they have taken less than
// -benchtime (at most most): b.N does not drive the work, so Go calls the benchmark once per -count
// instead of redoing the setup and overwriting the report for every b.N it tries.
func b6More(b *testing.B, i, def, most int) bool {
	if n, d := b6Benchtime(); n == 0 {
		return i < most && (i < def || b.Elapsed() < d)
	}
	return i < min(b.N, most)
}

// b6Benchtime is -benchtime: N of Nx, or else a duration (1s unless given).
func b6Benchtime() (int, time.Duration) {
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
