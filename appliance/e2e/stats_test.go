package e2e

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/metering"
	"cloudlet/appliance/network/link"
)

// Issue 14: a guest writing to its disk raises its block write counter in /metrics and in its
// stats; traffic through its NIC raises its tap counters; a frozen QEMU does not hold up a scrape
// (its sample ages while another instance's stays fresh); a member never sees another project's
// stats.
func TestInstanceUsageIsSampledAndAFrozenQEMUHoldsUpNoScrape(t *testing.T) {
	c := newCloud(t, `{"sample_interval": "1s"}`)
	busy := c.Create("busy", kernelImage, nil)
	idle := c.Create("idle", kernelImage, nil)
	c.WaitConsole(busy.ID, ready, 1, bootWait)
	c.WaitConsole(idle.ID, ready, 1, bootWait)
	sh := c.shell(busy.ID, "busy")

	written := func() float64 {
		return instanceMetric(c.scrapeUsage(), "cloudlet_instance_block_write_bytes_total", busy.ID)
	}
	c.waitMetric("a first sample of busy", func() bool { _, ok := instanceSampleAges(c.scrapeUsage())[busy.ID]; return ok })
	w0 := written()
	mustRun(t, sh, "dd if=/dev/zero of=/dev/vda bs=64k count=128 seek=512 2>&1 && sync")
	c.waitMetric("busy's 8 MiB written in /metrics", func() bool { return written() >= w0+8<<20 })
	c.waitMetric("busy's 8 MiB written in its stats", func() bool {
		var sum uint64
		for _, d := range c.instanceStats("busy").Sample.Drives {
			sum += d.WriteBytes
		}
		return float64(sum) >= w0+8<<20
	})

	rx := func() (float64, float64) {
		f := c.scrapeUsage()
		return instanceMetric(f, "cloudlet_instance_network_receive_bytes_total", busy.ID),
			instanceMetric(f, "cloudlet_instance_network_transmit_bytes_total", busy.ID)
	}
	rx0, tx0 := rx()
	mustRun(t, sh, "ping -c 5 -s 1000 $(ip route | awk '/default/ {print $3}')")
	c.waitMetric("busy's pings on its tap", func() bool { r, x := rx(); return r >= rx0+5000 && x >= tx0+5000 })
	if out := c.CLIExit(0, "instance", "stats", "busy"); !strings.Contains(out, "drive disk-") || !strings.Contains(out, "interface "+link.TapPrefix) {
		t.Errorf("cloudlet instance stats busy:\n%s", out)
	}

	m := newMembers(t, c.D)
	for _, ref := range []string{busy.ID, "busy"} {
		m.want("another project's stats", "pa", "GET", "/api/v1/instances/"+ref+"/stats", "", 404, "")
	}
	m.want("the host's stats", "pa", "GET", "/api/v1/host/stats", "", 403, "")
	var host metering.HostStats
	if err := c.Do("GET", "/api/v1/host/stats", nil, &host); err != nil || host.RunningInstances != 2 || host.MemoryTotalBytes == 0 {
		t.Errorf("host stats %+v, %v; want 2 running instances", host, err)
	}

	pid := c.WaitState(idle.ID, compute.VMActive, compute.PowerRunning, 10*time.Second).PID
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	// Every scrape below completes while the sampler waits on idle's QEMU; the proof that it does is
	// idle's sample ageing while busy's is renewed after it.
	var ages map[string]float64
	c.waitMetric("idle's sample ageing while busy's stays fresh", func() bool {
		ages = instanceSampleAges(c.scrapeUsage())
		return ages[idle.ID] >= 10 && ages[busy.ID]+5 < ages[idle.ID]
	})
	if st := c.instanceStats("idle"); st.Sample == nil || st.SampleAgeSeconds < 10 {
		t.Errorf("stats of the frozen instance: %+v; want its last sample, at least 10 s old", st)
	}
}

// scrapeUsage GETs /metrics as admin and parses it.
func (c *Cloud) scrapeUsage() map[string]*dto.MetricFamily {
	c.T.Helper()
	req, err := http.NewRequest("GET", "http://"+c.D.Listen+"/metrics", nil)
	if err != nil {
		c.T.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.T.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		c.T.Fatalf("scrape: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		c.T.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// instanceStats GETs an instance's stats as admin.
func (c *Cloud) instanceStats(ref string) metering.InstanceStats {
	c.T.Helper()
	var st metering.InstanceStats
	if err := c.Do("GET", "/api/v1/instances/"+ref+"/stats", nil, &st); err != nil {
		c.T.Fatalf("stats of %s: %v", ref, err)
	}
	return st
}

// waitMetric polls cond (samples come every sample_interval) until it holds.
func (c *Cloud) waitMetric(what string, cond func() bool) {
	c.T.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.T.Fatalf("%s: not seen within 60s", what)
}

// instanceMetric sums family name's series of instance id (all its drives or interfaces).
func instanceMetric(fams map[string]*dto.MetricFamily, name, id string) float64 {
	var sum float64
	for _, m := range fams[name].GetMetric() {
		if metricLabel(m, "instance_id") == id {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// instanceSampleAges are the instances' sample ages by id.
func instanceSampleAges(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams["cloudlet_instance_sample_age_seconds"].GetMetric() {
		out[metricLabel(m, "instance_id")] = m.GetGauge().GetValue()
	}
	return out
}

func metricLabel(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
